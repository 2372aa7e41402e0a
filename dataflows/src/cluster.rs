//! Timely's cluster mode: where this process stands among the processes of one engine
//! (`--processes`, `--process-id`, `--hostfile`), the timely configuration that connects
//! them, and the routing of the views' changes to the processes that collect them.
//!
//! Worker `index` of `peers` is global: process `p` runs workers `p * workers ..
//! (p + 1) * workers`. Sources split their work by the global index, every dataflow exchanges
//! by key across all workers, and the view changes are sent to the first worker of the
//! processes that serve them (every process, in the live job) or write them (process 0).

use std::path::Path;

use differential_dataflow::VecCollection;
use pulso_events::views::ViewRow;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Exchange;
use timely::dataflow::StreamVec;

use crate::Epoch;

/// The processes of one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// How many processes.
    pub processes: usize,
    /// This process, `0..processes`.
    pub process_id: usize,
    /// `host:port` of every process, in process order (empty for one process).
    pub addresses: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            processes: 1,
            process_id: 0,
            addresses: Vec::new(),
        }
    }
}

/// Errors of the cluster settings.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The host file cannot be read.
    #[error("reading the host file {path}: {source}")]
    Hostfile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host file names fewer processes than `--processes`.
    #[error("the host file names {found} processes, --processes is {wanted}")]
    TooFewAddresses {
        /// Addresses found.
        found: usize,
        /// Processes wanted.
        wanted: usize,
    },
    /// `--process-id` is not below `--processes`.
    #[error("--process-id {id} is not below --processes {processes}")]
    ProcessId {
        /// The id given.
        id: usize,
        /// The processes.
        processes: usize,
    },
}

impl ClusterConfig {
    /// The cluster of `processes` processes whose addresses are the first lines of `hostfile`
    /// (one `host:port` per line; blank lines and `#` comments skipped), or
    /// `localhost:2101 + i` without one (timely's default).
    pub fn new(
        processes: usize,
        process_id: usize,
        hostfile: Option<&Path>,
    ) -> Result<Self, ClusterError> {
        let processes = processes.max(1);
        if process_id >= processes {
            return Err(ClusterError::ProcessId {
                id: process_id,
                processes,
            });
        }
        if processes == 1 {
            return Ok(ClusterConfig::default());
        }
        let addresses: Vec<String> = match hostfile {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|source| ClusterError::Hostfile {
                    path: path.display().to_string(),
                    source,
                })?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .take(processes)
                .map(str::to_string)
                .collect(),
            None => (0..processes)
                .map(|i| format!("localhost:{}", 2101 + i))
                .collect(),
        };
        if addresses.len() < processes {
            return Err(ClusterError::TooFewAddresses {
                found: addresses.len(),
                wanted: processes,
            });
        }
        Ok(ClusterConfig {
            processes,
            process_id,
            addresses,
        })
    }

    /// True for the process that writes the outputs of a replay (process 0).
    pub fn is_leader(&self) -> bool {
        self.process_id == 0
    }

    /// The timely configuration of this process with `workers` threads.
    pub fn timely(&self, workers: usize) -> timely::Config {
        let workers = workers.max(1);
        if self.processes <= 1 {
            return timely::Config::process(workers);
        }
        timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: workers,
                process: self.process_id,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// Which processes receive the view changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// Process 0 only (a replay writes its outputs there).
    Leader,
    /// Every process (each serves the API).
    Everywhere,
}

/// The changes of `views` as a stream that, with several processes, holds every change on the
/// first worker of each collecting process (and nothing elsewhere); with one process it is
/// the changes where they are, and every worker may hand them over.
pub fn route_changes<'s>(
    views: VecCollection<'s, Epoch, ViewRow>,
    workers: usize,
    processes: usize,
    collect: Collect,
) -> StreamVec<'s, Epoch, (ViewRow, Epoch, isize)> {
    if processes <= 1 {
        return views.inner;
    }
    let workers = workers.max(1) as u64;
    let targets = match collect {
        Collect::Leader => 1,
        Collect::Everywhere => processes as u64,
    };
    views
        .inner
        .flat_map(move |change| (0..targets).map(move |p| (p * workers, change.clone())))
        .exchange(|(target, _)| *target)
        .map(|(_, change)| change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostfile_lines_are_the_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(
            &path,
            "# cluster\npulso-0.pulso:2101\n\npulso-1.pulso:2101\nx:1\n",
        )
        .unwrap();
        let config = ClusterConfig::new(2, 1, Some(&path)).unwrap();
        assert_eq!(
            config.addresses,
            ["pulso-0.pulso:2101", "pulso-1.pulso:2101"]
        );
        assert!(!config.is_leader());
        assert!(matches!(
            ClusterConfig::new(4, 0, Some(&path)),
            Err(ClusterError::TooFewAddresses {
                found: 3,
                wanted: 4
            })
        ));
        assert!(matches!(
            ClusterConfig::new(2, 2, None),
            Err(ClusterError::ProcessId { .. })
        ));
        assert_eq!(
            ClusterConfig::new(2, 0, None).unwrap().addresses,
            ["localhost:2101", "localhost:2102"]
        );
        assert_eq!(
            ClusterConfig::new(1, 0, None).unwrap(),
            ClusterConfig::default()
        );
    }
}
