//! `radtox-fixtures OUT_DIR`: regenerates the shipped phantoms (one folder each) into
//! OUT_DIR, byte for byte identical to the committed `fixtures/`.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Regenerate the synthetic DICOM-RT fixtures (RT Dose, RT Struct, RT Plan per phantom).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Folder receiving one sub-folder per phantom (e.g. `fixtures/`).
    out_dir: PathBuf,
    /// Write only the phantom with this name (`breast-left`, `brain-srs`).
    #[arg(long)]
    only: Option<String>,
    /// Print a Markdown table of each phantom's ROIs instead of writing files.
    #[arg(long)]
    describe: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut wrote = 0;
    for (ph, opts) in radtox_fixtures::shipped() {
        if args.only.as_ref().is_some_and(|n| n != &ph.name) {
            continue;
        }
        if args.describe {
            println!("## {}\n\n{}", ph.name, ph.describe_markdown());
            wrote += 1;
            continue;
        }
        let dir = args.out_dir.join(&ph.name);
        match radtox_fixtures::write_plan(&ph, &dir, &opts) {
            Ok(w) => {
                for p in [&w.rtdose, &w.rtstruct, &w.rtplan] {
                    let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                    println!("{} ({} KB)", p.display(), size.div_ceil(1024));
                }
                wrote += 1;
            }
            Err(e) => {
                eprintln!("radtox-fixtures: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if wrote == 0 {
        eprintln!("radtox-fixtures: no phantom matched");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
