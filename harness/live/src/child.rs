//! Child processes that cannot outlive the harness: each leads its own
//! process group (so a signal reaches whatever it started) and gets
//! SIGKILL from the kernel if the harness dies (`PR_SET_PDEATHSIG`).
//! Training scripts and model servers are both started this way.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// A command for `argv` (non-empty) set up as described above.
pub fn command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).process_group(0);
    // The one unsafe block of the crate: std offers no other way to set
    // the death signal in the child before exec.
    // SAFETY: prctl, getppid and _exit are async-signal-safe and touch
    // only the child; nothing is allocated between fork and exec.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() == 1 {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    cmd
}

/// Sends `sig` to the process group `child` leads (it may be gone
/// already; that is fine).
pub fn signal_group(child: &Child, sig: Signal) {
    let _ = killpg(Pid::from_raw(child.id() as i32), sig);
}

/// SIGKILL to the group, then reaps the child.
pub fn kill_group(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    signal_group(child, Signal::SIGKILL);
    child.wait()
}
