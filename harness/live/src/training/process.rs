//! One attempt of a training job as a real child process (see
//! [`crate::child`]: its own process group, killed with the harness),
//! stdout parsed for progress and copied to the job's log folder.
//!
//! Progress lines, printed by the script on stdout:
//! - `step=N` (anywhere in the line): step N is done;
//! - `checkpoint step=N`: a checkpoint of step N is on disk.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::Sender;

use nix::sys::signal::Signal;

/// What a running attempt reports to the runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessEvent {
    /// `step=N` was printed.
    Step {
        /// Job index.
        job: usize,
        /// Attempt number.
        attempt: u32,
        /// The step.
        step: u64,
    },
    /// `checkpoint step=N` was printed.
    Checkpoint {
        /// Job index.
        job: usize,
        /// Attempt number.
        attempt: u32,
        /// The step.
        step: u64,
    },
    /// Standard output closed (the process is exiting).
    Closed {
        /// Job index.
        job: usize,
        /// Attempt number.
        attempt: u32,
    },
}

/// The step number after `step=` in a line, if any.
pub fn parse_step(line: &str) -> Option<u64> {
    let i = line.find("step=")?;
    let digits: String = line[i + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A running attempt.
#[derive(Debug)]
pub struct Attempt {
    child: Child,
    /// Attempt number.
    pub attempt: u32,
    /// Set once SIGTERM was sent.
    pub terminated: bool,
}

impl Attempt {
    /// Starts `argv` in `cwd` with `env` added, reporting progress on `tx`.
    pub fn spawn(
        argv: &[String],
        cwd: &Path,
        env: &[(String, String)],
        log_dir: &Path,
        job: usize,
        attempt: u32,
        tx: Sender<ProcessEvent>,
    ) -> std::io::Result<Attempt> {
        let stderr = std::fs::File::create(log_dir.join(format!("attempt-{attempt}.stderr")))?;
        let mut log = std::fs::File::create(log_dir.join(format!("attempt-{attempt}.stdout")))?;
        let mut cmd = crate::child::command(argv);
        cmd.current_dir(cwd)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::Builder::new()
            .name(format!("train-log-{job}-{attempt}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let _ = writeln!(log, "{line}");
                    if let Some(step) = parse_step(&line) {
                        let ev = if line.trim_start().starts_with("checkpoint") {
                            ProcessEvent::Checkpoint { job, attempt, step }
                        } else {
                            ProcessEvent::Step { job, attempt, step }
                        };
                        let _ = tx.send(ev);
                    }
                }
                let _ = tx.send(ProcessEvent::Closed { job, attempt });
            })?;
        Ok(Attempt {
            child,
            attempt,
            terminated: false,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM to the process group.
    pub fn terminate(&mut self) {
        self.terminated = true;
        crate::child::signal_group(&self.child, Signal::SIGTERM);
    }

    /// SIGKILL to the process group, then reaps the child.
    pub fn kill(&mut self) -> std::io::Result<ExitStatus> {
        crate::child::kill_group(&mut self.child)
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_progress_lines() {
        assert_eq!(parse_step("step=42 loss=0.1"), Some(42));
        assert_eq!(parse_step("epoch 1 step=7"), Some(7));
        assert_eq!(parse_step("checkpoint step=40"), Some(40));
        assert_eq!(parse_step("step= 4"), None);
        assert_eq!(parse_step("loss=0.1"), None);
    }

    #[test]
    fn a_process_group_is_terminated_and_reaped() {
        let tmp = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let argv: Vec<String> = ["sh", "-c", "echo step=1; echo checkpoint step=1; sleep 30"]
            .map(String::from)
            .into();
        let mut a = Attempt::spawn(&argv, tmp.path(), &[], tmp.path(), 3, 0, tx).unwrap();
        let first = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(
            first,
            ProcessEvent::Step {
                job: 3,
                attempt: 0,
                step: 1
            }
        );
        let second = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(
            second,
            ProcessEvent::Checkpoint {
                job: 3,
                attempt: 0,
                step: 1
            }
        );
        a.terminate();
        let status = a.kill().unwrap();
        assert!(!status.success());
        let log = std::fs::read_to_string(tmp.path().join("attempt-0.stdout")).unwrap();
        assert_eq!(log, "step=1\ncheckpoint step=1\n");
    }
}
