//! A progress bar on stderr for long work (a virtual run, `gameday plan`):
//! it appears only after a second, only when stderr is a terminal and
//! the command is not `--quiet`, and is cleared when the work ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often the bar is redrawn, and how long before it appears.
const TICK: Duration = Duration::from_millis(100);
const DELAY_TICKS: u32 = 10;

/// A bar following a counter the work updates.
#[derive(Debug)]
pub struct Progress {
    /// What the work has done, in the bar's unit.
    pub done: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// A bar of `total` (`scale` counter units per bar unit, `unit` its
    /// name); drawn only if `show` and stderr is a terminal.
    pub fn start(total: u64, scale: u64, unit: &'static str, show: bool) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let thread = (show && std::io::stderr().is_terminal()).then(|| {
            let (done, finished) = (done.clone(), finished.clone());
            std::thread::spawn(move || {
                for _ in 0..DELAY_TICKS {
                    if finished.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(TICK);
                }
                let bar = ProgressBar::new(total.max(1)).with_elapsed(TICK * DELAY_TICKS);
                let template =
                    format!("{{bar:40}} {{pos}}/{{len}} {unit} · {{elapsed}} (eta {{eta}})");
                if let Ok(style) = ProgressStyle::with_template(&template) {
                    bar.set_style(style);
                }
                while !finished.load(Ordering::Relaxed) {
                    bar.set_position(done.load(Ordering::Relaxed) / scale.max(1));
                    std::thread::sleep(TICK);
                }
                bar.finish_and_clear();
            })
        });
        Progress {
            done,
            finished,
            thread,
        }
    }

    /// The work is over: the bar goes.
    pub fn finish(mut self) {
        self.finished.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
