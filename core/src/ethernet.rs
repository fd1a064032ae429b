//! ethernet (being written)
