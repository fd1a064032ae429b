//! The board's `unsafe` corner, built only with the `firmware` feature: memory-mapped
//! registers ([`mmio`]) and the runtime around the firmware ([`runtime`]: heap,
//! clock, stack painting, semihosting). Every `unsafe` block says why it holds.
#![allow(unsafe_code)]

pub mod mmio;
pub mod runtime;
