//! Puts a live run together: the record source of every local worker (Kafka behind recovery
//! and the archive, or the built-in generator, archived unless told not to) and the outputs of
//! the consumer (ClickHouse on the leader, the dead-letter topic and its probe with Kafka).

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use crate::record_source::{RecordSource, SourceFactory};
use pulso_connectors::generator::GeneratorConfig;
use pulso_connectors::kafka::{DlqProducer, KafkaConfig};
use pulso_events::retention::Horizon;
use pulso_events::views::ViewSet;
use pulso_sinks::archive::{read_progress, ArchiveWriter};
use pulso_sinks::clickhouse::{spawn_writer, ClickHouseConfig, ClickHouseSink};

use crate::batch::write_to_clickhouse;
use crate::consumer::{ClickHouseOutput, KafkaOutputs};
use crate::dead_letters::{DeadLetters, DlqDelivered};
use crate::dlq_probe::DlqProbe;
use crate::durability::Durability;
use crate::error::Result;
use crate::positions::ConsumerPositions;
use crate::recovery::{recover, RecoveringSource};
use crate::sources::{
    alignment, ArchivingSource, GeneratorSource, KafkaRecordSource, NoSource, ReadSignals,
};

/// What the sources of one process share with each other and with the consumer.
pub(crate) struct Wiring {
    /// The archive root, `OUT/archive`.
    pub(crate) archive: std::path::PathBuf,
    /// Global worker indices of this process.
    pub(crate) local: Range<usize>,
    /// Workers of the whole cluster.
    pub(crate) peers: usize,
    /// Each local worker's archive writer (none when nothing is archived), taken by its source.
    pub(crate) writers: Arc<Mutex<Vec<Option<ArchiveWriter>>>>,
    /// The durability path.
    pub(crate) durability: Durability,
    /// How far the consumer has delivered the dead letters.
    pub(crate) delivered: DlqDelivered,
    /// The sources' reports for the live status.
    pub(crate) signals: ReadSignals,
    /// The Kafka consumers' positions (with Kafka).
    pub(crate) progress: Option<ConsumerPositions>,
}

impl Wiring {
    /// Makes every local worker's archive writer before any epoch is written (none when
    /// `archiving` is false).
    pub(crate) fn writers(
        archive: &Path,
        local: Range<usize>,
        archiving: bool,
    ) -> Result<Arc<Mutex<Vec<Option<ArchiveWriter>>>>> {
        let writers: Vec<Option<ArchiveWriter>> = local
            .map(|w| match archiving {
                true => ArchiveWriter::new(archive, w).map(Some),
                false => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(Mutex::new(writers)))
    }

    /// Kafka sources: each local worker replays its share of the archive (recovery), then
    /// reads its partitions from the archived offsets on, archiving each epoch; partitions are
    /// read in step by event time (all the process's workers together), within a quarter of
    /// `late_after`.
    pub(crate) fn kafka_sources(
        &self,
        config: &KafkaConfig,
        late_after: Horizon,
    ) -> Result<SourceFactory> {
        let started = std::time::Instant::now();
        let recovered = recover(
            &self.archive,
            self.local.clone(),
            self.peers,
            &config.topic_prefix,
        )?;
        let archived: usize = recovered.backlog.iter().map(Vec::len).sum();
        if archived > 0 {
            println!(
                "pulso: recovering from {archived} archived records (read in {:.1}s); resuming Kafka after the archived offsets",
                started.elapsed().as_secs_f64()
            );
        }
        let first = self.local.start;
        let writers = Arc::clone(&self.writers);
        let durability = self.durability.clone();
        let delivered = self.delivered.clone();
        let backlogs = Arc::new(Mutex::new(recovered.backlog));
        let restored = Arc::new(Mutex::new(recovered.rejected));
        let (resume, epoch_base) = (recovered.resume, recovered.epoch_base);
        let (tail, partitions) = (recovered.tail, recovered.progress);
        let (config, progress) = (config.clone(), self.progress.clone().unwrap_or_default());
        let signals = self.signals.clone();
        let in_step = alignment(late_after);
        Ok(Arc::new(move |index, peers| -> Box<dyn RecordSource> {
            let at = index - first;
            let writer = writers.lock().unwrap_or_else(PoisonError::into_inner)[at].take();
            let backlog =
                std::mem::take(&mut backlogs.lock().unwrap_or_else(PoisonError::into_inner)[at]);
            // Earlier runs' rejected counts enter the views once, by their partitions' owner.
            let rejected =
                std::mem::take(&mut restored.lock().unwrap_or_else(PoisonError::into_inner)[at]);
            let source = KafkaRecordSource::new(
                config.clone(),
                index,
                peers,
                resume.clone(),
                progress.clone(),
                signals.clone(),
                in_step.clone(),
            );
            match (source, writer) {
                (Ok(source), Some(writer)) => Box::new(RecoveringSource::new(
                    backlog,
                    tail.clone(),
                    rejected,
                    ArchivingSource::new(
                        source,
                        writer,
                        epoch_base,
                        &config.topic_prefix,
                        &partitions,
                        durability.clone(),
                    )
                    .with_dead_letters(delivered.clone()),
                )),
                (Err(error), _) => {
                    tracing::error!(%error, index, "cannot create the Kafka consumer");
                    Box::new(NoSource)
                }
                (Ok(_), None) => Box::new(NoSource),
            }
        }))
    }

    /// The built-in generator on worker 0 at `rate` records/s, archived when its writer
    /// exists; its archive epochs follow an earlier run's.
    pub(crate) fn generator_sources(
        &self,
        stream: GeneratorConfig,
        rate: f64,
        archiving: bool,
    ) -> Result<SourceFactory> {
        // The generator starts afresh; its archive epochs follow an earlier run's.
        let epoch_base = match archiving {
            true => read_progress(&self.archive)?
                .last_epoch()
                .map_or(0, |e| e + 1),
            false => 0,
        };
        let first = self.local.start;
        let writers = Arc::clone(&self.writers);
        let durability = self.durability.clone();
        let signals = self.signals.clone();
        Ok(Arc::new(move |index, _peers| -> Box<dyn RecordSource> {
            let writer =
                writers.lock().unwrap_or_else(PoisonError::into_inner)[index - first].take();
            match (index, writer) {
                (0, Some(writer)) => Box::new(ArchivingSource::new(
                    GeneratorSource::new(&stream, rate).with_signals(signals.clone()),
                    writer,
                    epoch_base,
                    "",
                    &Default::default(),
                    durability.clone(),
                )),
                (0, None) => {
                    Box::new(GeneratorSource::new(&stream, rate).with_signals(signals.clone()))
                }
                _ => Box::new(NoSource),
            }
        }))
    }

    /// The dead-letter topic and the probe of its size, for a Kafka run that stops when
    /// `stop` is set.
    pub(crate) fn kafka_outputs(
        &self,
        config: &KafkaConfig,
        stop: &Arc<AtomicBool>,
    ) -> Result<KafkaOutputs> {
        let producer = DlqProducer::new(config)?;
        let dead_letters = DeadLetters::new(
            Box::new(producer),
            self.durability.clone(),
            self.delivered.clone(),
            Arc::clone(stop),
        );
        Ok(KafkaOutputs {
            dead_letters,
            probe: DlqProbe::new(config),
        })
    }
}

/// The ClickHouse output of a run: a restart rebuilds the views from scratch, so what an
/// earlier run left is cleared, and this run's epochs are written above every version
/// already there.
pub(crate) fn clickhouse_output(config: ClickHouseConfig) -> Result<ClickHouseOutput> {
    write_to_clickhouse(config.clone(), &ViewSet::default())?;
    let base = ClickHouseSink::connect(config.clone())?
        .max_version()?
        .map_or(0, |v| v + 1);
    Ok(ClickHouseOutput {
        writer: spawn_writer(config, 8).0,
        base_version: base,
    })
}
