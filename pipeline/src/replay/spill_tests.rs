//! Tests of the spill: the run format, the merge of runs across workers and files.

use super::*;

fn entry(entity: &str, timestamp: i64, summary: &str) -> TimelineEntry {
    TimelineEntry {
        entity_type: "order".into(),
        entity_id: entity.into(),
        timestamp,
        event_id: format!("e-{timestamp}").into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: summary.into(),
    }
}

/// A spill of `rows` changes per run, in the system's temporary folder.
fn spill(rows: usize) -> TimelineSpill {
    TimelineSpill::new(SpillConfig { dir: None, rows })
}

#[test]
fn a_record_reads_back_as_written() {
    let written = entry("ÖRDEN-1", -5, "{\"tenant_id\":\"ñ\",\"x\":\"\"}");
    let mut record = Vec::new();
    encode(&written, -3, &mut record);
    let (mut names, mut last) = (Interner::default(), Arc::from(""));
    let (read, diff) = decode(&record[4..], &mut names, &mut last).unwrap();
    assert_eq!((read, diff), (written, -3));
    assert!(decode(&record[4..record.len() - 1], &mut names, &mut last).is_err());
}

#[test]
fn a_text_split_inside_a_character_is_malformed() {
    let mut record = Vec::new();
    encode(&entry("ÖRDEN-1", 1, "s"), 1, &mut record);
    // The entity type `order` (5 bytes) takes the first byte of `Ö`, the entity id one less.
    let lengths = 4 + 16;
    record[lengths..lengths + 4].copy_from_slice(&6u32.to_le_bytes());
    record[lengths + 4..lengths + 8].copy_from_slice(&7u32.to_le_bytes());
    let error = decode(&record[4..], &mut Interner::default(), &mut Arc::from("")).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn runs_merge_in_order_adding_changes_across_runs() {
    let (a, b, c) = (entry("A", 1, "a"), entry("B", 2, "b"), entry("C", 3, "c"));
    // Two workers; runs of two changes: B is added by one worker and retracted and added
    // again by the other, C is added and retracted across runs of one worker.
    let mut one = spill(2);
    for (e, d) in [(&c, 1), (&a, 1), (&c, -1), (&b, -1)] {
        one.push(e.clone(), d);
    }
    let mut two = spill(2);
    for (e, d) in [(&b, 1), (&b, 1)] {
        two.push(e.clone(), d);
    }
    let runs = TimelineRuns::join([one.finish().unwrap(), two.finish().unwrap()]);
    assert_eq!(runs.runs.len(), 3);
    assert_eq!(runs.into_vec().unwrap(), vec![a, b]);
}

#[test]
fn rows_join_the_runs() {
    let mut one = spill(1);
    one.push(entry("B", 2, "b"), 1);
    let runs = one
        .finish()
        .unwrap()
        .with_rows(vec![entry("A", 1, "a"), entry("C", 3, "c")]);
    let ids: Vec<String> = runs
        .into_vec()
        .unwrap()
        .iter()
        .map(|e| e.entity_id.to_string())
        .collect();
    assert_eq!(ids, ["A", "B", "C"]);
}

#[test]
fn an_entry_present_twice_is_an_error() {
    let mut one = spill(1);
    one.push(entry("A", 1, "a"), 1);
    one.push(entry("A", 1, "a"), 1);
    let mut merged = one.finish().unwrap().merge();
    assert!(matches!(
        merged.next(),
        Some(Err(DataflowError::Multiplicity(_, 2)))
    ));
    assert!(merged.next().is_none(), "an error ends the merge");
}

#[test]
fn large_records_and_many_runs_read_back() {
    // Summaries larger than a read block; 7 runs of 3 changes and 1 left in memory.
    let big = "x".repeat(BLOCK + 17);
    let entries: Vec<TimelineEntry> = (0..22)
        .map(|i| entry(&format!("E{i:02}"), i, if i % 5 == 0 { &big } else { "s" }))
        .collect();
    let mut one = spill(3);
    for e in entries.iter().rev() {
        one.push(e.clone(), 1);
    }
    let runs = one.finish().unwrap();
    assert_eq!(runs.runs.len(), 8);
    assert_eq!(runs.into_vec().unwrap(), entries);
}

#[test]
fn names_read_back_are_shared() {
    let mut one = spill(1);
    one.push(entry("A", 1, "a"), 1);
    one.push(entry("B", 2, "b"), 1);
    let read = one.finish().unwrap().into_vec().unwrap();
    assert!(Arc::ptr_eq(&read[0].topic, &read[1].topic));
    assert!(Arc::ptr_eq(&read[0].entity_type, &read[1].entity_type));
}

#[test]
fn consecutive_entries_of_an_entity_share_its_id() {
    let mut one = spill(3);
    for e in [entry("A", 1, "a"), entry("A", 2, "b"), entry("B", 3, "c")] {
        one.push(e, 1);
    }
    let read = one.finish().unwrap().into_vec().unwrap();
    assert!(Arc::ptr_eq(&read[0].entity_id, &read[1].entity_id));
    assert_eq!(&*read[2].entity_id, "B");
}
