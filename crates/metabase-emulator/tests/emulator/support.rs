//! Starts an emulator in-process on 127.0.0.1 and talks to it with a plain HTTP client, as the
//! gateway does.

use metabase_emulator::{EmulatorConfig, EmulatorHandle};
use reqwest::{Method, Response};
use serde_json::Value;

/// The API key in the Administrators group.
pub const ADMIN_KEY: &str = "mb_emulator_admin_key";
/// The API key in the narrow Analysts group.
pub const ANALYST_KEY: &str = "mb_emulator_analyst_key";

/// A running emulator and a client for it.
pub struct Emulator {
    pub handle: EmulatorHandle,
    pub http: reqwest::Client,
}

/// Starts an emulator with the default configuration.
pub async fn start() -> Emulator {
    start_with(EmulatorConfig::default()).await
}

/// Starts an emulator with a configuration.
pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let handle = metabase_emulator::start(config, listener).await.expect("emulator starts");
    Emulator { handle, http: reqwest::Client::new() }
}

impl Emulator {
    /// Sends a request with an API key (or none) and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.handle.url()));
        if let Some(key) = key {
            request = request.header("X-Api-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request reaches the emulator")
    }

    /// GETs a path as the admin key.
    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, Some(ADMIN_KEY), None).await
    }

    /// GETs a path as the admin key and parses the JSON body, asserting the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().await.expect("json body")
    }

    /// POSTs JSON as a key and returns status and parsed JSON body.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        let response = self.call(Method::POST, path, Some(key), Some(body)).await;
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// Returns the content type of a response.
pub fn content_type(response: &Response) -> String {
    response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
}
