//! Telemetry: logs through `tracing` (text or JSON, carrying trace and span ids), OpenTelemetry
//! spans exported over OTLP when the standard `OTEL_EXPORTER_OTLP_*` variables say where, W3C trace
//! context propagation, and metrics exported over OTLP and served for Prometheus.

pub(crate) mod metrics;
pub(crate) mod propagation;

use std::collections::HashMap;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (including `trace_id`).
    Json,
}

/// Where telemetry goes, read from the standard OpenTelemetry variables.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// The log format.
    pub log_format: LogFormat,
    /// `OTEL_SERVICE_NAME`, default `metabase-grpc`.
    pub service_name: String,
    /// Where spans go (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub traces_endpoint: Option<String>,
    /// Where metrics go (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub metrics_endpoint: Option<String>,
}

impl TelemetryConfig {
    /// Reads the configuration from a map of the environment; `OTEL_SDK_DISABLED=true` turns
    /// exporting off.
    pub fn from_environment(environment: &HashMap<String, String>, log_format: LogFormat) -> Self {
        let get =
            |name: &str| environment.get(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let shared = get("OTEL_EXPORTER_OTLP_ENDPOINT");
        TelemetryConfig {
            log_format,
            service_name: get("OTEL_SERVICE_NAME").unwrap_or_else(|| "metabase-grpc".into()),
            traces_endpoint: if disabled {
                None
            } else {
                get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| shared.clone())
            },
            metrics_endpoint: if disabled { None } else { get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").or(shared) },
        }
    }
}

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// An OTLP exporter could not be built.
    #[error("the otlp exporter cannot be built: {0}")]
    Exporter(String),
    /// The Prometheus exporter could not be built.
    #[error("the prometheus exporter cannot be built: {0}")]
    Prometheus(String),
}

/// The installed telemetry; flushes spans and metrics when shut down.
pub struct Telemetry {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    /// The registry `/metrics` serves.
    pub registry: prometheus::Registry,
}

impl Telemetry {
    /// Flushes and stops the exporters (from a blocking thread: the exporters run on the
    /// runtime and flushing waits for them).
    pub async fn shutdown(self) {
        let _ = tokio::task::spawn_blocking(move || {
            let _ = self.tracer_provider.force_flush();
            let _ = self.tracer_provider.shutdown();
            let _ = self.meter_provider.shutdown();
        })
        .await;
    }
}

fn resource(config: &TelemetryConfig) -> Resource {
    Resource::builder().with_service_name(config.service_name.clone()).build()
}

/// Builds the tracer and meter providers and sets them, and the W3C propagator, globally.
pub fn providers(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource(config));
    if let Some(endpoint) = &config.traces_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|error| TelemetryError::Exporter(error.to_string()))?;
        // The batch processor runs on the tokio runtime, where the tonic exporter's I/O lives.
        let processor = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
        tracer_builder = tracer_builder.with_span_processor(processor);
    }
    let tracer_provider = tracer_builder.build();
    let registry = prometheus::Registry::new();
    let prometheus_reader = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .map_err(|error| TelemetryError::Prometheus(error.to_string()))?;
    let mut meter_builder = SdkMeterProvider::builder().with_resource(resource(config)).with_reader(prometheus_reader);
    if let Some(endpoint) = &config.metrics_endpoint {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|error| TelemetryError::Exporter(error.to_string()))?;
        let reader = opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
        meter_builder = meter_builder.with_reader(reader);
    }
    let meter_provider = meter_builder.build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    Ok(Telemetry { tracer_provider, meter_provider, registry })
}

/// Installs logging and telemetry for the process.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let telemetry = providers(config)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let otel = tracing_opentelemetry::layer().with_tracer(telemetry.tracer_provider.tracer("metabase-grpc"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let _ = match config.log_format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    Ok(telemetry)
}

/// Returns the tracer provider for a test's own subscriber.
pub fn tracer(telemetry: &Telemetry) -> opentelemetry_sdk::trace::SdkTracer {
    telemetry.tracer_provider.tracer("metabase-grpc")
}
