//! slip (being written)
