//! HTTP plumbing shared by the emulator's routes: Metabase's error shapes and request reading.

pub mod error;
pub mod request;

pub use self::error::{ApiError, ApiResult, json_response, text};
pub use self::request::{Body, Caller, Params, page, paging_json, positive_id};
