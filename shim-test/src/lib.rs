//! umlnet-sim: a deterministic, simulated host for the umlnet core and guest.
