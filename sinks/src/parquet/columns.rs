//! The Arrow types of the registry's column types that every view file shares.

/// Precision of the money columns: DECIMAL(38, 2), room for any sum of accepted amounts.
pub const MONEY_PRECISION: u8 = 38;
/// Scale of the money columns (minor units).
pub const MONEY_SCALE: i8 = 2;
/// Time zone of the timestamp columns.
pub const TIMESTAMP_ZONE: &str = "UTC";
