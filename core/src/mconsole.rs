//! mconsole (being written)
