//! switch (being written)
