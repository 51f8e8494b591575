//! The gateway's own tower layers, one file per concern, and the call context they hand to
//! handlers.

pub mod access;
pub mod audited_body;
pub mod call;
pub mod deadline;
