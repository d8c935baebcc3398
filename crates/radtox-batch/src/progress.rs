//! Progress of a batch run for people: an `indicatif` bar on a terminal (plans done,
//! plans/s, failures, ETA), plain periodic log lines otherwise (CI logs, Slurm output
//! files), where a redrawn bar would be noise. Neither ever shows a patient name or ID:
//! only counts and plan keys.

use crate::run::{Event, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Progress on standard error.
pub struct ConsoleProgress {
    bar: Option<ProgressBar>,
    interval: Duration,
    state: Mutex<LogState>,
    done: AtomicUsize,
    failed: AtomicUsize,
    reused: AtomicUsize,
    total: AtomicUsize,
}

struct LogState {
    started: Instant,
    last: Instant,
}

impl ConsoleProgress {
    /// A bar when standard error is a terminal, else a log line every `interval`.
    pub fn new(interval: Duration) -> ConsoleProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} plans  {per_sec}  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        let now = Instant::now();
        ConsoleProgress {
            bar,
            interval,
            state: Mutex::new(LogState {
                started: now,
                last: now,
            }),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    /// Clear the bar (the caller prints its own summary).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    fn log_line(&self, force: bool) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        if !force && now.duration_since(st.last) < self.interval {
            return;
        }
        st.last = now;
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let reused = self.reused.load(Ordering::Relaxed);
        let secs = now.duration_since(st.started).as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            format!("{:.0} s", total.saturating_sub(done) as f64 / rate)
        } else {
            "unknown".into()
        };
        eprintln!(
            "radtox batch: {done}/{total} plans done ({reused} unchanged, {failed} failed), \
             {rate:.2} plans/s, ETA {eta}"
        );
    }
}

impl Progress for ConsoleProgress {
    fn event(&self, e: &Event) {
        match e {
            Event::Started { plans, problems } => {
                self.total.store(*plans, Ordering::Relaxed);
                match &self.bar {
                    Some(b) => {
                        b.set_length(*plans as u64);
                        b.set_message(format!("0 failed, {problems} discovery problems"));
                        b.enable_steady_tick(Duration::from_millis(200));
                    }
                    None => eprintln!(
                        "radtox batch: {plans} plans to process, {problems} discovery problems"
                    ),
                }
            }
            Event::PlanDone { ok, reused, .. } => {
                self.done.fetch_add(1, Ordering::Relaxed);
                if *reused {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                }
                if !ok {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
                let done = self.done.load(Ordering::Relaxed);
                let total = self.total.load(Ordering::Relaxed);
                match &self.bar {
                    Some(b) => {
                        b.inc(1);
                        b.set_message(format!("{} failed", self.failed.load(Ordering::Relaxed)));
                    }
                    None => self.log_line(done == total),
                }
            }
        }
    }
}
