//! Splits the records of several topic files into epochs, interleaving the topics in
//! proportion to their length, as if they had arrived together.

use pulso_events::SourceRecord;

/// Interleaves `records` (grouped by topic, each group in arrival order) and cuts them into
/// epochs of at most `per_epoch` records.
pub fn into_epochs(records: Vec<SourceRecord>, per_epoch: usize) -> Vec<Vec<SourceRecord>> {
    let mut lengths = std::collections::HashMap::new();
    for record in &records {
        *lengths.entry(record.topic).or_insert(0u64) += 1;
    }
    let mut keyed: Vec<(u128, usize, SourceRecord)> = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            // Position within its topic as a fraction of the topic's length (fixed point).
            let len = lengths[&record.topic] as u128;
            let fraction = ((record.position.offset as u128) << 64) / len.max(1);
            (fraction, i, record)
        })
        .collect();
    keyed.sort_by_key(|(fraction, i, _)| (*fraction, *i));
    let per_epoch = per_epoch.max(1);
    let mut epochs = Vec::with_capacity(keyed.len() / per_epoch + 1);
    let mut current = Vec::with_capacity(per_epoch);
    for (_, _, record) in keyed {
        current.push(record);
        if current.len() == per_epoch {
            epochs.push(std::mem::replace(
                &mut current,
                Vec::with_capacity(per_epoch),
            ));
        }
    }
    if !current.is_empty() {
        epochs.push(current);
    }
    epochs
}
