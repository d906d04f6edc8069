//! Zegel's benchmarks, kept out of the product: operators never get them, and the verifier
//! never links them. Each benchmark returns its figures beside a same-run baseline;
//! `report` renders them into docs/BENCHMARKS.md.

pub mod audit;
pub mod binaries;
pub mod formats;
pub mod report;
pub mod server;
pub mod tier;
