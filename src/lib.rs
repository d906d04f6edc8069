//! Zegel library.
pub use zegel_format as format;
