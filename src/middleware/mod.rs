//! The gateway's own tower layers, one file per concern.

pub mod deadline;
