//! A view file's row groups encoded on several threads: each chunk of rows becomes one row
//! group (rows → Arrow batch → compressed column chunks) on a worker thread, and the calling
//! thread appends the row groups in order. The file is what `ArrowWriter` would write from the
//! same chunks, byte for byte: the same writer settings, the same column writers, the same
//! order; only the encoding runs in parallel.

use std::borrow::Borrow;
use std::fs::File;
use std::marker::PhantomData;
use std::thread;

use ::parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use ::parquet::arrow::ArrowWriter;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use arrow::datatypes::SchemaRef;
use pulso_events::registry::View;

use super::encode;
use crate::SinkError;

/// Row groups each encoding thread takes at a time (the compressed chunks of one round are
/// held until they are appended).
pub(super) const GROUPS_PER_ROUND: usize = 2;

/// Writes `rows` to `file` with `properties`, in row groups of their most rows (all rows in one
/// when they set no limit), encoding up to `threads` row groups at once; returns the file once
/// its footer is written. A byte limit per row group is not applied (the view files set none).
pub(super) fn write_row_groups<V: View, T: Borrow<V> + Sync>(
    file: File,
    rows: &[T],
    properties: WriterProperties,
    threads: usize,
) -> Result<File, SinkError> {
    let mut writer = RowGroupWriter::<V>::new(file, properties, threads)?;
    writer.write(rows)?;
    writer.finish()
}

/// A view file written a slice of rows at a time, in row groups encoded on several threads.
/// Every slice but the last must hold a whole number of row groups, so that the file is the
/// one [`write_row_groups`] writes from all the rows at once.
pub(super) struct RowGroupWriter<V> {
    writer: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    group_rows: usize,
    threads: usize,
    groups: usize,
    view: PhantomData<fn(&V)>,
}

impl<V: View> RowGroupWriter<V> {
    /// A writer of `file` with `properties`, encoding up to `threads` row groups at once.
    pub(super) fn new(
        file: File,
        properties: WriterProperties,
        threads: usize,
    ) -> Result<Self, SinkError> {
        let group_rows = properties.max_row_group_row_count().unwrap_or(usize::MAX);
        // The columns' types do not depend on the rows: no rows give the schema.
        let schema = encode::encode::<V>(&[] as &[&V])?.schema();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
        let (writer, factory) = writer.into_serialized_writer()?;
        Ok(RowGroupWriter {
            writer,
            factory,
            schema,
            group_rows: group_rows.max(1),
            threads: threads.max(1),
            groups: 0,
            view: PhantomData,
        })
    }

    /// Rows the threads encode in one round.
    pub(super) fn round_rows(&self) -> usize {
        self.group_rows
            .saturating_mul(self.threads * GROUPS_PER_ROUND)
    }

    /// Appends `rows` as row groups of the properties' most rows (the last may be short, and
    /// must then be the last rows written); a multiple of [`RowGroupWriter::round_rows`] keeps
    /// every thread busy.
    pub(super) fn write<T: Borrow<V> + Sync>(&mut self, rows: &[T]) -> Result<(), SinkError> {
        let chunks: Vec<&[T]> = rows.chunks(self.group_rows).collect();
        let threads = self.threads.clamp(1, chunks.len().max(1));
        for groups in chunks.chunks(threads * GROUPS_PER_ROUND) {
            let mut jobs = Vec::with_capacity(groups.len());
            for rows in groups {
                jobs.push((self.factory.create_column_writers(self.groups)?, *rows));
                self.groups += 1;
            }
            let encoded = encode_all::<V, T>(&self.schema, jobs, threads)?;
            for columns in encoded {
                let mut row_group = self.writer.next_row_group()?;
                for column in columns {
                    column.append_to_row_group(&mut row_group)?;
                }
                row_group.close()?;
            }
        }
        Ok(())
    }

    /// Writes the footer and returns the file.
    pub(super) fn finish(self) -> Result<File, SinkError> {
        Ok(self.writer.into_inner()?)
    }
}

/// One row group to encode: its column writers and its rows.
type Job<'a, T> = (Vec<ArrowColumnWriter>, &'a [T]);

/// Encodes `jobs` (row groups of `schema`) on up to `threads` threads (contiguous shares), in
/// order.
fn encode_all<V: View, T: Borrow<V> + Sync>(
    schema: &SchemaRef,
    jobs: Vec<Job<'_, T>>,
    threads: usize,
) -> Result<Vec<Vec<ArrowColumnChunk>>, SinkError> {
    let encode = |job| encode_group::<V, T>(schema, job);
    if threads <= 1 || jobs.len() <= 1 {
        return jobs.into_iter().map(encode).collect();
    }
    let share = jobs.len().div_ceil(threads);
    let mut jobs = jobs.into_iter();
    let shares: Vec<Vec<Job<'_, T>>> = (0..threads)
        .map(|_| jobs.by_ref().take(share).collect())
        .collect();
    thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || share.into_iter().map(encode).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut encoded = Vec::new();
        for handle in handles {
            let share = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            encoded.extend(share);
        }
        Ok(encoded)
    })
}

/// One row group's compressed column chunks (its columns in the order of `schema`, as
/// `ArrowWriter` takes them).
fn encode_group<V: View, T: Borrow<V>>(
    schema: &SchemaRef,
    (mut writers, rows): Job<'_, T>,
) -> Result<Vec<ArrowColumnChunk>, SinkError> {
    let batch = encode::encode::<V>(rows)?;
    let mut next = writers.iter_mut();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field.as_ref(), column)? {
            let writer = next.next().ok_or_else(|| SinkError::Schema {
                file: V::NAME.to_owned(),
                message: "more leaf columns than column writers".to_owned(),
            })?;
            writer.write(&leaf)?;
        }
    }
    Ok(writers
        .into_iter()
        .map(ArrowColumnWriter::close)
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::{Read, Seek, SeekFrom};

    use pulso_events::views::TimelineEntry;

    use super::*;
    use crate::parquet::writer_properties;

    /// The view files' settings with row groups of `rows` rows.
    fn properties(rows: usize) -> WriterProperties {
        let mut properties = writer_properties(None).unwrap().into_builder();
        properties = properties.set_max_row_group_row_count(Some(rows));
        properties.build()
    }

    /// `n` timeline entries, in order, with repeated and distinct texts.
    pub(in crate::parquet) fn entries(n: i64) -> Vec<TimelineEntry> {
        (0..n)
            .map(|i| TimelineEntry {
                entity_type: ["order", "sku", "caso"][i as usize % 3].into(),
                entity_id: format!("E-{}", i % 97).into(),
                timestamp: 1_700_000_000_000_000 + i * 1_000,
                event_id: format!("e-{i:07}").into(),
                topic: "orders.events".into(),
                event_type: "ORDER_CREATED".into(),
                summary: format!("{{\"n\":{i}}}").into(),
            })
            .collect()
    }

    fn bytes(mut file: File) -> Vec<u8> {
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut bytes).unwrap();
        bytes
    }

    /// What `ArrowWriter` writes from the same rows, one `write` per row group.
    fn reference(rows: &[TimelineEntry], group_rows: usize) -> Vec<u8> {
        let first = encode::encode::<TimelineEntry>(&rows[..group_rows.min(rows.len())]).unwrap();
        let file = tempfile::tempfile().unwrap();
        let mut writer =
            ArrowWriter::try_new(file, first.schema(), Some(properties(group_rows))).unwrap();
        for chunk in rows.chunks(group_rows) {
            let batch = encode::encode::<TimelineEntry>(chunk).unwrap();
            writer.write(&batch).unwrap();
        }
        bytes(writer.into_inner().unwrap())
    }

    #[test]
    fn parallel_row_groups_are_the_bytes_arrow_writer_writes() {
        // Rounds of 3 threads x GROUPS_PER_ROUND groups, a last short round and short group.
        let rows = entries(3 * GROUPS_PER_ROUND as i64 * 100 + 250);
        for threads in [1, 2, 3] {
            let file = tempfile::tempfile().unwrap();
            let file = write_row_groups::<TimelineEntry, _>(file, &rows, properties(100), threads);
            let written = bytes(file.unwrap());
            let expected = reference(&rows, 100);
            assert!(written == expected, "{threads} threads");
        }
    }

    #[test]
    fn rows_by_reference_write_the_same_file() {
        let rows = entries(1_000);
        let refs: Vec<&TimelineEntry> = rows.iter().collect();
        let file = tempfile::tempfile().unwrap();
        let file = write_row_groups::<TimelineEntry, _>(file, &refs, properties(64), 2).unwrap();
        assert!(bytes(file) == reference(&rows, 64));
    }
}
