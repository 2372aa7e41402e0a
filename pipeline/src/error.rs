//! The errors of running Pulso: one enum at the crate boundary, each variant naming the step
//! that failed and keeping the underlying error as its source (so `{:#}` and anyhow's report
//! print the same chain the binary printed before the pipeline became a crate).

use pulso_connectors::kafka::Error as KafkaError;
use pulso_events::views::ViewRow;
use pulso_queries::{ConfigError, ServeError};
use pulso_sinks::clickhouse::ClickHouseError;
use pulso_sinks::SinkError;

use crate::cluster::ClusterError;

/// Errors of a dataflow run (the live loop or a replay): the engine's own, kept apart from
/// [`PipelineError`] so that a replay's caller can tell them.
#[derive(Debug, thiserror::Error)]
pub enum DataflowError {
    /// Timely could not start its workers.
    #[error("timely could not start: {0}")]
    Start(String),
    /// A worker thread panicked.
    #[error("a dataflow worker failed: {0}")]
    Worker(String),
    /// Reading the input batches failed.
    #[error("reading the input failed: {0}")]
    Input(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A view row ended with a multiplicity other than 0 or 1 (a bug in a view).
    #[error("view row with multiplicity {1}: {0:?}")]
    Multiplicity(Box<ViewRow>, isize),
    /// Writing or reading back the timeline entries or view changes a replay spilled failed.
    #[error("spilling timeline entries or view changes failed: {0}")]
    Spill(#[source] std::io::Error),
}

/// What can stop a run, a replay, a backfill or a check of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file or folder could not be created, opened or written (`context` names it).
    #[error("{context}")]
    Io {
        /// What was being done, e.g. `creating pulso-out`.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error without more context (a write of `rejected.jsonl`, an HTTP body read).
    #[error(transparent)]
    IoError(#[from] std::io::Error),
    /// An HTTP request of `verify` failed.
    #[error("GET {url}")]
    Http {
        /// The URL requested.
        url: String,
        /// The client's error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The API still answered 429 when `verify`'s attempts were spent.
    #[error(
        "GET {url}: the API still answered 429 Too Many Requests after {attempts} attempts over \
         {seconds:.0} s; run verify when the API is less busy, or raise `api.limits.rate_limit` \
         of the live run's config"
    )]
    RateLimited {
        /// The URL requested.
        url: String,
        /// The requests made.
        attempts: u32,
        /// Seconds spent.
        seconds: f64,
    },
    /// A Parquet, archive or `rejected.jsonl` write or read failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A step of a sink failed; `context` names it (e.g. `preparing pulso-out/views`).
    #[error("{context}")]
    SinkStep {
        /// What was being done.
        context: String,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
    /// ClickHouse refused a request or could not be reached.
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    /// The Kafka source or the dead-letter producer could not be created.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The dead-letter topic could not be written (after its retries: fatal).
    #[error("the dead-letter topic")]
    DeadLetters(#[source] KafkaError),
    /// The dataflows failed (timely could not start, a worker failed, a bad view row).
    #[error(transparent)]
    Dataflow(#[from] DataflowError),
    /// The cluster settings are unusable.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The `api` or `alerts` settings are refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP API could not be served.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A record could not be rendered as JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A write on the durability path failed for good: the run stopped (`reason` names the
    /// write).
    #[error("stopped: {0}")]
    Stopped(String),
    /// The engine thread panicked (a cluster peer died, or a bug).
    #[error("the engine panicked (did a cluster peer die?)")]
    EnginePanicked,
    /// A thread of the run panicked (`0` names it).
    #[error("the {0} thread panicked")]
    ThreadPanicked(&'static str),
}

impl PipelineError {
    /// Wraps an I/O error with what was being done: `.map_err(PipelineError::io(|| ...))`.
    pub fn io(context: impl FnOnce() -> String) -> impl FnOnce(std::io::Error) -> PipelineError {
        move |source| PipelineError::Io {
            context: context(),
            source,
        }
    }

    /// Wraps a sink's error with what was being done.
    pub fn sink(context: impl FnOnce() -> String) -> impl FnOnce(SinkError) -> PipelineError {
        move |source| PipelineError::SinkStep {
            context: context(),
            source,
        }
    }
}

/// `error` and its sources, joined by `: ` (as anyhow's `{:#}` prints them).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The result type of the pipeline.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
