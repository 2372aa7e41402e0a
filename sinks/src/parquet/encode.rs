//! Any view's rows as an Arrow batch with the registry's columns in order: text as UTF8,
//! integers as INT64, timestamps as TIMESTAMP(MICROS, UTC), money as DECIMAL(38, 2), rates as
//! nullable DOUBLE (nullable text and rates are the only nullable columns).

use std::borrow::Borrow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use pulso_events::registry::{Cell, ColumnType, View};

use super::columns::{MONEY_PRECISION, MONEY_SCALE, TIMESTAMP_ZONE};
use crate::SinkError;

/// One column being built.
enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Money(Decimal128Builder),
    Rate(Float64Builder),
}

impl Builder {
    /// An empty column of `rows` cells; a text column with room for `text_bytes` of text.
    fn new(ty: ColumnType, rows: usize, text_bytes: usize) -> Builder {
        match ty {
            ColumnType::Text | ColumnType::OptText | ColumnType::Json => {
                Builder::Text(StringBuilder::with_capacity(rows, text_bytes))
            }
            ColumnType::Int => Builder::Int(Int64Builder::with_capacity(rows)),
            ColumnType::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            ColumnType::Money => Builder::Money(Decimal128Builder::with_capacity(rows)),
            ColumnType::Rate => Builder::Rate(Float64Builder::with_capacity(rows)),
        }
    }

    /// Appends `cell`; the registry's tests check each cell has its column's type.
    fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (Builder::Text(b), Cell::Text(s)) => b.append_value(s),
            (Builder::Text(b), Cell::OptText(s)) => b.append_option(s),
            (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
            (Builder::Timestamp(b), Cell::Timestamp(v)) => b.append_value(v),
            (Builder::Money(b), Cell::Money(v)) => b.append_value(v),
            (Builder::Rate(b), Cell::Rate(v)) => b.append_option(v),
            (_, cell) => unreachable!("a registry cell of the wrong type: {cell:?}"),
        }
    }

    fn finish(self) -> Result<ArrayRef, SinkError> {
        Ok(match self {
            Builder::Text(mut b) => Arc::new(b.finish()),
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Timestamp(mut b) => Arc::new(b.finish().with_timezone(TIMESTAMP_ZONE)),
            Builder::Money(mut b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?,
            ),
            Builder::Rate(mut b) => Arc::new(b.finish()),
        })
    }
}

/// `rows` as one batch with the columns of view `V`.
pub(crate) fn encode<V: View>(rows: &[impl Borrow<V>]) -> Result<RecordBatch, SinkError> {
    let columns = V::columns();
    let mut cells = Vec::with_capacity(columns.len());
    // The text columns' bytes first, so that each is built in one buffer of its size rather
    // than by doubling (which copies the text again and touches fresh pages each time).
    let mut text_bytes = vec![0; columns.len()];
    for row in rows {
        row.borrow().cells(&mut cells);
        for (bytes, cell) in text_bytes.iter_mut().zip(cells.drain(..)) {
            if let Cell::Text(text) | Cell::OptText(Some(text)) = cell {
                *bytes += text.len();
            }
        }
    }
    let mut builders: Vec<Builder> = columns
        .iter()
        .zip(text_bytes)
        .map(|(c, bytes)| Builder::new(c.ty, rows.len(), bytes))
        .collect();
    for row in rows {
        cells.clear();
        row.borrow().cells(&mut cells);
        for (builder, cell) in builders.iter_mut().zip(cells.drain(..)) {
            builder.append(cell);
        }
    }
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays = Vec::with_capacity(columns.len());
    for (column, builder) in columns.iter().zip(builders) {
        let array = builder.finish()?;
        fields.push(Field::new(
            column.name.as_ref(),
            array.data_type().clone(),
            column.ty.nullable(),
        ));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}
