//! The errors of the ClickHouse sink, each classified as retryable (the same request may
//! succeed later: the server is down, busy or timed out) or permanent (retrying cannot help:
//! bad SQL, wrong credentials, a schema that does not match).

use std::time::Duration;

/// Why the ClickHouse sink could not write or read.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The request did not get an HTTP answer (connection refused or reset, DNS, timeout...).
    #[error("cannot reach ClickHouse at {url}: {message}")]
    Transport {
        /// The server URL.
        url: String,
        /// What failed.
        message: String,
        /// Whether retrying may help (false for an invalid URL or unsupported scheme).
        retryable: bool,
    },
    /// The server answered with an error.
    #[error("ClickHouse answered {}{}: {message}", answered(*status), code.map(|c| format!(" (code {c})")).unwrap_or_default())]
    Server {
        /// The HTTP status, or [`ClickHouseError::UNKNOWN_STATUS`] when the client does not
        /// report it (the `clickhouse` crate reports it only for an empty body).
        status: u16,
        /// The ClickHouse error code (`Code: N` in the body), when present.
        code: Option<u32>,
        /// The body of the answer (the server's message), trimmed.
        message: String,
    },
    /// An answer could not be decoded as the rows of a view.
    #[error("decoding {table}: {message}")]
    Decode {
        /// The table or view read.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A table or view in the database does not have the columns this sink writes (for
    /// example one created by another version of Pulso).
    #[error("schema of {table}: {message}")]
    Schema {
        /// The table or view.
        table: String,
        /// What differs.
        message: String,
    },
    /// The configuration cannot work (bad database name, zero batch size...).
    #[error("invalid ClickHouse sink configuration: {0}")]
    Config(String),
    /// A value cannot be stored (for example a timestamp outside what `DateTime` holds).
    #[error("cannot store {table}.{column}: {message}")]
    Value {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Why.
        message: String,
    },
    /// Retryable errors went on for longer than the retry policy's `max_elapsed`.
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last error.
        last: Box<ClickHouseError>,
    },
    /// The background writer has stopped (after an error); `WriterHandle::close` returns why.
    #[error("the ClickHouse writer has stopped; close the handle to get its error")]
    WriterStopped,
}

/// ClickHouse error codes that mean the same request may succeed later, whatever the status.
pub const RETRYABLE_CODES: [u32; 12] = [
    3,   // UNEXPECTED_END_OF_FILE
    159, // TIMEOUT_EXCEEDED
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    236, // ABORTED
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    394, // QUERY_WAS_CANCELLED
    425, // SYSTEM_ERROR
    473, // DEADLOCK_AVOIDED
];

/// ClickHouse error codes that no retry can fix, even when answered with a 5xx status (18.16
/// answers almost every exception with 500).
pub const PERMANENT_CODES: [u32; 26] = [
    6,   // CANNOT_PARSE_TEXT
    16,  // NO_SUCH_COLUMN_IN_TABLE
    26,  // CANNOT_PARSE_QUOTED_STRING
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA
    36,  // BAD_ARGUMENTS
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    43,  // ILLEGAL_TYPE_OF_ARGUMENT
    44,  // ILLEGAL_COLUMN
    47,  // UNKNOWN_IDENTIFIER
    48,  // NOT_IMPLEMENTED
    53,  // TYPE_MISMATCH
    57,  // TABLE_ALREADY_EXISTS
    60,  // UNKNOWN_TABLE
    62,  // SYNTAX_ERROR
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    81,  // UNKNOWN_DATABASE
    117, // INCORRECT_DATA
    164, // READONLY
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    497, // ACCESS_DENIED
    516, // AUTHENTICATION_FAILED
];

impl ClickHouseError {
    /// The `status` of a [`ClickHouseError::Server`] whose HTTP status is not known.
    pub const UNKNOWN_STATUS: u16 = 0;

    /// Whether the same request may succeed if sent again later.
    ///
    /// Transport failures are retryable unless the URL itself is unusable. Server errors are
    /// classified by their ClickHouse code first (see [`RETRYABLE_CODES`] and
    /// [`PERMANENT_CODES`]), then by status: 5xx, 408 and 429 are retryable, other statuses
    /// permanent; an unknown status counts as a 500 (18.16 answers almost every exception
    /// with 500). Decoding, schema, configuration and value errors are permanent, and so is
    /// having given up.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClickHouseError::Transport { retryable, .. } => *retryable,
            ClickHouseError::Server { status, code, .. } => match code {
                Some(c) if RETRYABLE_CODES.contains(c) => true,
                Some(c) if PERMANENT_CODES.contains(c) => false,
                _ => {
                    *status >= 500
                        || *status == 408
                        || *status == 429
                        || *status == Self::UNKNOWN_STATUS
                }
            },
            _ => false,
        }
    }

    /// Whether this error is permanent (the opposite of [`Self::is_retryable`]).
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }
}

/// `HTTP <status>`, or `with an error` when the status is unknown.
fn answered(status: u16) -> String {
    if status == ClickHouseError::UNKNOWN_STATUS {
        "with an error".into()
    } else {
        format!("HTTP {status}")
    }
}

/// The ClickHouse error code at the start of an error body: `Code: 62, e.displayText() = ...`
/// (18.x) or `Code: 62. DB::Exception: ...` (current versions).
pub(crate) fn parse_error_code(body: &str) -> Option<u32> {
    let rest = &body[body.find("Code: ")? + "Code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
