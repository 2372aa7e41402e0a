//! The `headers` column of the raw archive: each record's Kafka headers, in order, as
//! `list<struct<key: utf8 (not null), value: binary (nullable)>>`. The column is nullable: a
//! record without headers (every record of the generator and of JSONL files) has a null
//! cell, which costs one bit. Archives written before the column existed have no such column
//! and read back with no headers.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryArray, ListArray, StringArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use arrow::record_batch::RecordBatch;
use pulso_events::RecordHeader;

use super::row::ArchiveRow;
use crate::SinkError;

/// The column name.
pub(super) const HEADERS_COLUMN: &str = "headers";

/// The fields of one header: `key` utf8, `value` nullable binary.
fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

/// The list item: one header.
fn item_field() -> FieldRef {
    Arc::new(Field::new("item", DataType::Struct(header_fields()), false))
}

/// The `headers` field of the archive schema: nullable `list<struct<key, value>>`.
pub(super) fn headers_field() -> Field {
    Field::new(HEADERS_COLUMN, DataType::List(item_field()), true)
}

/// The `headers` column of `records`: null where a record has no headers.
pub(crate) fn encode_headers<R: ArchiveRow>(records: &[&R]) -> Result<ArrayRef, SinkError> {
    let all = records.iter().flat_map(|r| r.headers().iter());
    let keys: StringArray = all.clone().map(|(k, _)| Some(k.as_str())).collect();
    let values: BinaryArray = all.map(|(_, v)| v.as_deref()).collect();
    let items = StructArray::try_new(
        header_fields(),
        vec![Arc::new(keys) as ArrayRef, Arc::new(values)],
        None,
    )?;
    let offsets = OffsetBuffer::from_lengths(records.iter().map(|r| r.headers().len()));
    let present: Vec<bool> = records.iter().map(|r| !r.headers().is_empty()).collect();
    let nulls = present.contains(&false).then(|| NullBuffer::from(present));
    Ok(Arc::new(ListArray::try_new(
        item_field(),
        offsets,
        Arc::new(items),
        nulls,
    )?))
}

/// Reads the `headers` column of a batch: each row's headers, or `None` when the batch has
/// no such column (an archive written before it existed: no row has headers).
pub(crate) struct HeadersColumn<'a> {
    column: Option<(&'a ListArray, &'a StringArray, &'a BinaryArray)>,
}

impl<'a> HeadersColumn<'a> {
    /// The `headers` column of `batch`; `layout_error` makes the error of a column of the
    /// wrong type.
    pub(crate) fn of(
        batch: &'a RecordBatch,
        layout_error: impl Fn(&str) -> SinkError,
    ) -> Result<Self, SinkError> {
        let Some(column) = batch.column_by_name(HEADERS_COLUMN) else {
            return Ok(HeadersColumn { column: None });
        };
        let wrong = || {
            layout_error(&format!(
                "column `{HEADERS_COLUMN}` has type {}",
                column.data_type()
            ))
        };
        let list = column
            .as_any()
            .downcast_ref::<ListArray>()
            .ok_or_else(wrong)?;
        let items = list
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(wrong)?;
        let keys = items
            .column_by_name("key")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(wrong)?;
        let values = items
            .column_by_name("value")
            .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
            .ok_or_else(wrong)?;
        Ok(HeadersColumn {
            column: Some((list, keys, values)),
        })
    }

    /// The headers of row `i` (empty for a null cell, or without the column).
    pub(crate) fn row(&self, i: usize) -> Vec<RecordHeader> {
        let Some((list, keys, values)) = self.column else {
            return Vec::new();
        };
        if list.is_null(i) {
            return Vec::new();
        }
        let offsets = list.value_offsets();
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        (start..end)
            .map(|j| {
                let key = keys.value(j).to_owned();
                let value = (!values.is_null(j)).then(|| values.value(j).to_vec());
                (key, value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use ::parquet::arrow::ArrowWriter;
    use arrow::array::{Int32Array, Int64Array, TimestampMicrosecondArray};
    use arrow::datatypes::Schema;
    use pulso_events::time::parse_rfc3339;
    use pulso_events::{Position, Topic};

    use super::*;
    use crate::archive::{
        archive_schema, day_of, part_file_name, partition_dir, read_archive, ArchiveRecord,
        ArchiveWriter, ARCHIVE_COLUMNS,
    };
    use crate::parquet::TIMESTAMP_ZONE;

    fn t0() -> i64 {
        parse_rfc3339("2024-01-15T00:00:00Z").unwrap()
    }

    fn record(offset: i64, headers: Vec<RecordHeader>) -> ArchiveRecord {
        ArchiveRecord {
            topic: Topic::Orders,
            position: Position {
                partition: 0,
                offset,
            },
            key: Some(b"k".to_vec()),
            value: format!("{{\"o\":{offset}}}").into_bytes(),
            timestamp: t0() + offset,
            epoch: 3,
            headers,
        }
    }

    #[test]
    fn headers_round_trip_with_records_without_any() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
        let records = vec![
            record(0, Vec::new()),
            record(
                1,
                vec![
                    ("trace-id".into(), Some(b"abc".to_vec())),
                    ("null-value".into(), None),
                    ("empty".into(), Some(Vec::new())),
                    ("binary".into(), Some(vec![0xff, 0x00, 0xfe])),
                    // Kafka allows a name twice; both are kept, in order.
                    ("trace-id".into(), Some(b"def".to_vec())),
                ],
            ),
            record(2, Vec::new()),
            record(3, vec![("ñandú".into(), Some("✓".as_bytes().to_vec()))]),
        ];
        writer.write_epoch(3, &records).unwrap();
        let read = read_archive(dir.path(), None, None).unwrap();
        assert_eq!(read, records);
        // Replayed records keep them.
        let source = read[1].clone().into_source();
        assert_eq!(source.headers, records[1].headers);
        assert!(!source.tombstone);
    }

    #[test]
    fn the_column_is_in_the_schema() {
        let schema = archive_schema();
        assert_eq!(schema.fields().len(), ARCHIVE_COLUMNS.len());
        let field = schema.field_with_name(HEADERS_COLUMN).unwrap();
        assert!(field.is_nullable());
        assert!(matches!(field.data_type(), DataType::List(_)));
    }

    #[test]
    fn an_archive_without_the_column_reads_back_without_headers() {
        let dir = tempfile::tempdir().unwrap();
        // A part file as written before the `headers` column existed: its first 7 columns.
        let old = Arc::new(Schema::new(archive_schema().fields()[..7].to_vec()));
        assert_eq!(old.fields().len(), 7);
        let path = partition_dir(dir.path(), Topic::Orders, day_of(t0())).unwrap();
        std::fs::create_dir_all(&path).unwrap();
        let file = File::create(path.join(part_file_name(5, 0))).unwrap();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["orders.events"; 2])),
            Arc::new(Int32Array::from(vec![1, 1])),
            Arc::new(Int64Array::from(vec![10, 11])),
            Arc::new(BinaryArray::from(vec![Some(&b"k"[..]), None])),
            Arc::new(BinaryArray::from(vec![&b"{}"[..], &b"[]"[..]])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![t0(), t0() + 1]).with_timezone(TIMESTAMP_ZONE),
            ),
            Arc::new(Int64Array::from(vec![5, 5])),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&old), columns).unwrap();
        let mut writer = ArrowWriter::try_new(file, old, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let read = read_archive(dir.path(), None, None).unwrap();
        assert_eq!(read.len(), 2);
        assert!(read.iter().all(|r| r.headers.is_empty()));
        assert_eq!(read[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(read[1].value, b"[]");
        assert_eq!(read[1].position.offset, 11);
    }
}
