//! The wire types of the HTTP API: what the routes answer and, where the CLI reads them back,
//! what it parses. They carry the OpenAPI schemas (their doc comments are the descriptions);
//! the domain types they convert from keep only their stored form. Each DTO serialises to
//! the JSON the domain type's own serde form gives, field for field and in the same order.

pub mod audit;
pub mod retention;
pub mod tenant;
pub mod tier;

#[cfg(test)]
mod tests;
