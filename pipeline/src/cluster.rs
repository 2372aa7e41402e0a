//! Timely's cluster mode: where this process stands among the processes of one engine
//! (`--processes`, `--process-id`, `--hostfile`, read here) and the timely configuration
//! that connects them.
//!
//! Worker `index` of `peers` is global: process `p` runs workers `p * workers ..
//! (p + 1) * workers`. Sources split their work by the global index; the routing of the view
//! changes to the processes that collect them is dataflow code
//! (`pulso_dataflows::cluster::route_changes`).

use std::path::Path;

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
