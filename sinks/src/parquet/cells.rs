//! Reading typed cells back from a batch by column name, checking that each column has the
//! Arrow type Pulso writes and that non-null columns hold no nulls.

use arrow::array::{Array, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use pulso_events::money::CentsTotal;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::SlaStatus;

use super::columns::MONEY_SCALE;
use crate::SinkError;

/// One batch of a view file.
pub(crate) struct Batch<'a> {
    file: &'a str,
    batch: &'a RecordBatch,
}

impl<'a> Batch<'a> {
    /// The batch `batch` read from the file of view `file`.
    pub(crate) fn new(file: &'a str, batch: &'a RecordBatch) -> Self {
        Batch { file, batch }
    }

    /// Appends every row of the batch, decoded by `decode`, to `out`.
    pub(crate) fn decode_into<T>(
        &self,
        out: &mut Vec<T>,
        decode: fn(&Row) -> Result<T, SinkError>,
    ) -> Result<(), SinkError> {
        out.reserve(self.batch.num_rows());
        for index in 0..self.batch.num_rows() {
            out.push(decode(&Row { batch: self, index })?);
        }
        Ok(())
    }

    fn error(&self, message: String) -> SinkError {
        SinkError::Schema {
            file: self.file.to_owned(),
            message,
        }
    }

    /// The column `name`, as the array type `A`.
    fn column<A: Array + 'static>(&self, name: &str) -> Result<&'a A, SinkError> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| self.error(format!("missing column `{name}`")))?;
        column.as_any().downcast_ref::<A>().ok_or_else(|| {
            self.error(format!(
                "column `{name}` has type {}, not {}",
                column.data_type(),
                std::any::type_name::<A>()
                    .rsplit("::")
                    .next()
                    .unwrap_or_default()
            ))
        })
    }
}

/// One row of a batch.
pub(crate) struct Row<'a> {
    batch: &'a Batch<'a>,
    index: usize,
}

impl Row<'_> {
    /// The cell of column `name`, `None` when null.
    fn cell<A: Array + 'static, V>(
        &self,
        name: &str,
        value: impl FnOnce(&A, usize) -> V,
    ) -> Result<Option<V>, SinkError> {
        let column = self.batch.column::<A>(name)?;
        Ok((!column.is_null(self.index)).then(|| value(column, self.index)))
    }

    /// The non-null cell of column `name`.
    fn required<A: Array + 'static, V>(
        &self,
        name: &str,
        value: impl FnOnce(&A, usize) -> V,
    ) -> Result<V, SinkError> {
        self.cell(name, value)?.ok_or_else(|| {
            self.batch
                .error(format!("null in column `{name}` at row {}", self.index))
        })
    }

    fn invalid(&self, name: &str, what: impl std::fmt::Display) -> SinkError {
        self.batch.error(format!(
            "invalid value {what} in column `{name}` at row {}",
            self.index
        ))
    }

    /// An INT64 cell.
    pub(crate) fn int64(&self, name: &str) -> Result<i64, SinkError> {
        self.required(name, Int64Array::value)
    }

    /// A UTF8 cell.
    pub(crate) fn string(&self, name: &str) -> Result<String, SinkError> {
        self.required(name, |a: &StringArray, i| a.value(i).to_owned())
    }

    /// A nullable UTF8 cell.
    pub(crate) fn opt_string(&self, name: &str) -> Result<Option<String>, SinkError> {
        self.cell(name, |a: &StringArray, i| a.value(i).to_owned())
    }

    /// A TIMESTAMP(MICROSECOND) cell.
    pub(crate) fn timestamp(&self, name: &str) -> Result<Micros, SinkError> {
        self.required(name, TimestampMicrosecondArray::value)
    }

    /// A DECIMAL(_, 2) money cell, in cents.
    pub(crate) fn cents(&self, name: &str) -> Result<CentsTotal, SinkError> {
        let (scale, value) =
            self.required(name, |a: &Decimal128Array, i| (a.scale(), a.value(i)))?;
        if scale != MONEY_SCALE {
            return Err(self.invalid(name, format_args!("with scale {scale}")));
        }
        Ok(value)
    }

    /// A granularity cell (`minute`, `hour`, `day`).
    pub(crate) fn granularity(&self, name: &str) -> Result<Granularity, SinkError> {
        let text = self.string(name)?;
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| self.invalid(name, format_args!("{text:?}")))
    }

    /// An SLA status cell (`BREACHED`, `AT_RISK`, `ON_TRACK`).
    pub(crate) fn status(&self, name: &str) -> Result<SlaStatus, SinkError> {
        let text = self.string(name)?;
        [SlaStatus::Breached, SlaStatus::AtRisk, SlaStatus::OnTrack]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| self.invalid(name, format_args!("{text:?}")))
    }
}
