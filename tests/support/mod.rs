//! Test support shared by the integration tests (and, by path, the fuzz target).
#![allow(dead_code)]

pub mod differential;
pub mod lincheck;
pub mod model;
pub mod recovery_fuzz;
