//! host (being written)
