//! A pass over some views only (`pulso replay --views`): on random event streams and random
//! selections, on 1 and 2 workers, the selected views equal the oracle's and the others stay
//! empty; the binary writes the selected views' files only and leaves the others in place.

mod support;

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use pulso_dataflows::retention::Retention;
use pulso_events::registry::{view_names, visit_views, View, ViewSelection, ViewVisitor};
use pulso_events::views::ViewSet;
use pulso_pipeline::{replay, ReplayConfig};

/// `views` with the rows of the views `selection` leaves out removed.
fn only(mut views: ViewSet, selection: &ViewSelection) -> ViewSet {
    struct Clear<'a>(&'a mut ViewSet, &'a ViewSelection);
    impl ViewVisitor for Clear<'_> {
        fn visit<V: View>(&mut self) {
            if !self.1.contains(V::NAME) {
                V::rows_mut(self.0).clear();
            }
        }
    }
    visit_views(&mut Clear(&mut views, selection));
    views
}

/// The views whose bit is set in `mask` (bit `i`: the registry's `i`-th view).
fn selection_of(mask: u32) -> ViewSelection {
    let names = view_names();
    let chosen = names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0);
    ViewSelection::of(chosen.map(|(_, name)| *name)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200) / 4
    ))]

    #[test]
    fn selected_views_equal_the_oracle_and_the_others_stay_empty(
        seed in any::<u64>(),
        events in 1usize..160,
        mask in 1u32..(1 << 16),
    ) {
        let selection = selection_of(mask);
        let records = support::streams::random_stream(seed, events);
        for workers in [1, 2] {
            let epochs = support::streams::random_epochs(&records, seed.wrapping_add(workers));
            let expected = only(pulso_oracle::compute(&epochs.concat(), None), &selection);
            let output = replay(
                epochs,
                &ReplayConfig {
                    workers: workers as usize,
                    retention: Retention::OFF,
                    views: selection.clone(),
                    ..Default::default()
                },
            )
            .expect("replay runs");
            prop_assert_eq!(
                &output.views,
                &expected,
                "views {} on {} workers",
                selection,
                workers
            );
        }
    }
}

/// Runs `pulso replay` on the golden input into `out` with `flags`; its output.
fn replay_golden(out: &Path, flags: &[&str]) -> std::process::Output {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["replay", "--workers", "2", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(flags)
        .output()
        .unwrap()
}

#[test]
fn the_binary_writes_the_selected_files_only_and_leaves_the_others() {
    let (whole, some) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(replay_golden(whole.path(), &[]).status.success());
    let views = some.path().join("views");
    std::fs::create_dir_all(&views).unwrap();
    std::fs::write(views.join("timelines.parquet"), b"an earlier pass").unwrap();
    let selected = ["order_metrics", "pipeline_health"];
    let output = replay_golden(some.path(), &["--views", &selected.join(",")]);
    assert!(output.status.success());

    let mut files: Vec<String> = std::fs::read_dir(&views)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "order_metrics.parquet",
            "pipeline_health.parquet",
            "timelines.parquet"
        ]
    );
    assert_eq!(
        std::fs::read(views.join("timelines.parquet")).unwrap(),
        b"an earlier pass"
    );
    for view in selected {
        let file = format!("{view}.parquet");
        assert_eq!(
            std::fs::read(views.join(&file)).unwrap(),
            std::fs::read(whole.path().join("views").join(&file)).unwrap(),
            "{view}: the file of the whole pass"
        );
    }

    let refused = replay_golden(some.path(), &["--views", "orders"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown view \"orders\""));
}
