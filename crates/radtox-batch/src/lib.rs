//! # radtox-batch
//!
//! Batch mode and QA gating on top of the single-plan analysis (`radtox-analysis`):
//!
//! * [`run_batch`]: find every plan of an archive (`radtox_dicom::discover`: by content,
//!   grouped by DICOM-RT references), analyse the plans of one [`Shard`] in parallel with
//!   bounded memory,
//!   each output written atomically, resumable by content hash; one bad plan goes to
//!   `errors.csv` and the rest go on. Layout of the output directory in [`run`].
//! * [`merge`]: join shard outputs, refusing shards made with different settings.
//! * [`check`]: constraints (`Brain-GTV V12Gy[cc] < 10`), risk-flag levels and the
//!   planning system's DVH against an analysis, for a pass/fail exit code.
//! * [`privacy`]: safe file names from DICOM values, keyed pseudonyms, output scrubbing.
//!
//! ```
//! use radtox_batch::{BatchOptions, Shard, Silent, run_batch};
//!
//! let archive = tempfile::tempdir()?;
//! std::fs::write(archive.path().join("README.txt"), "not DICOM")?;
//! let out = tempfile::tempdir()?;
//! let opts = BatchOptions { shard: "1/2".parse::<Shard>()?, jobs: 1, ..BatchOptions::default() };
//! let summary = run_batch(archive.path(), out.path(), &opts, &Silent)?;
//! assert_eq!(summary.plans, 0);
//! // The aggregate files exist even for an empty archive.
//! let metrics = std::fs::read_to_string(out.path().join("metrics.csv"))?;
//! assert!(metrics.starts_with("plan,patient,structure,tg263_name,metric,domain,value,unit"));
//! assert!(out.path().join("manifest.json").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
pub mod check;
mod error;
mod merge;
pub mod privacy;
mod progress;
pub mod rows;
pub mod run;
mod shard;
mod walk;

pub use atomic::write_atomic;
pub use error::BatchError;
pub use merge::{MergeSummary, merge};
pub use privacy::{Pseudonymizer, Scrubber, sanitise_component};
pub use progress::ConsoleProgress;
pub use run::{BatchOptions, Event, PlanRecord, Progress, Silent, Summary, run_batch};
pub use shard::{Shard, shard_of};
pub use walk::files_under;
