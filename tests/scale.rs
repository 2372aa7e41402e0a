//! At scale: `pulso replay` of a large generated folder equals the oracle. Run on demand
//! (it takes minutes):
//!
//! ```text
//! pulso generate --out /tmp/m1 --scale 1000000
//! pulso replay --input /tmp/m1 --out /tmp/m1out --workers 2
//! PULSO_SCALE_INPUT=/tmp/m1 PULSO_SCALE_OUT=/tmp/m1out cargo test --release --test scale -- --nocapture
//! ```

use std::path::PathBuf;

#[test]
fn replay_output_equals_the_oracle_at_scale() {
    let (Some(input), Some(out)) = (
        std::env::var_os("PULSO_SCALE_INPUT"),
        std::env::var_os("PULSO_SCALE_OUT"),
    ) else {
        eprintln!("SKIPPED scale: set PULSO_SCALE_INPUT and PULSO_SCALE_OUT");
        return;
    };
    let records = pulso_connectors::jsonl::read_dir(&PathBuf::from(input)).unwrap();
    let started = std::time::Instant::now();
    let expected = pulso_oracle::compute(&records, None);
    eprintln!(
        "oracle over {} records: {:.1}s",
        records.len(),
        started.elapsed().as_secs_f64()
    );
    let views = pulso_sinks::parquet::read_whole_views(&PathBuf::from(out).join("views")).unwrap();
    assert_eq!(views.as_of, expected.as_of);
    macro_rules! same {
        ($($field:ident),*) => {$(
            assert!(views.$field == expected.$field, "{} differs ({} vs {} rows)", stringify!($field), views.$field.len(), expected.$field.len());
        )*};
    }
    same!(
        notification_rates,
        notification_bounces,
        order_metrics,
        order_cancellations,
        inventory_levels,
        case_backlog,
        sla_compliance,
        open_case_sla,
        open_cases,
        timelines,
        pipeline_health
    );
    eprintln!("all views equal the oracle");
}
