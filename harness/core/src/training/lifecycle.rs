//! A job's way through capacity, download, compute, checkpoints, spot
//! notices and reclaims, upload and its end; faults; and what an external
//! job's process reports.

use crate::time::{duration_nanos, SimTime};

use super::job::{exp_ns, uniform_ns, Phase};
use super::*;

impl Training {
    /// Asks the job's pool for instances (through the platform, which
    /// answers with [`Training::capacity_answer`]).
    pub(super) fn ask_capacity(&mut self, job: usize) {
        self.asks.push_back(job);
    }

    /// The pool answered job `job`'s ask: with capacity, the job waits
    /// for it (spot: a market wait; both: the instances' provisioning
    /// time); in a shortage an on-demand job fails with
    /// `InsufficientCapacity` and a spot job waits for the shortage to end.
    pub(crate) fn capacity_answer(&mut self, now: SimTime, job: usize, available: bool) {
        let j = &mut self.jobs[job];
        if j.phase == Phase::Done {
            return;
        }
        if !available {
            if !j.spec.spot {
                let what = format!("InsufficientCapacity: no {} capacity", j.spec.instance.name);
                self.event(now, job, TrainingEventKind::Fault, what);
                return self.finish(now, job, JobStatus::Failed, SecondaryStatus::Failed);
            }
            j.deferred = true; // the shortage's end asks again
            return;
        }
        let mut wait = uniform_ns(
            &mut j.rng,
            j.spec.instance.provisioning_min,
            j.spec.instance.provisioning_max,
        );
        if j.spec.spot {
            wait += uniform_ns(
                &mut j.rng,
                j.spec.market.capacity_wait_min,
                j.spec.market.capacity_wait_max,
            );
        }
        self.phase_timer(now.add_nanos(wait), job, TimerKind::CapacityReady);
    }

    pub(super) fn capacity_ready(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Downloading);
        let j = &mut self.jobs[job];
        j.seg_start = Some(now);
        j.notice_at = None;
        let left = duration_nanos(j.spec.max_run).saturating_sub(j.held_ns);
        let download = j.spec.download;
        let notice = match (j.spec.spot, j.spec.market.mtbi) {
            (true, Some(mtbi)) => {
                let job_mtbi =
                    crate::time::div_duration(mtbi, f64::from(j.spec.instance_count.max(1)));
                Some(now.add_nanos(exp_ns(&mut j.rng, job_mtbi)))
            }
            _ => None,
        };
        self.seg_timer(now.add_nanos(left), job, TimerKind::MaxRun);
        if let Some(at) = notice {
            self.seg_timer(at, job, TimerKind::SpotNotice);
        }
        self.status(now, job, SecondaryStatus::Downloading);
        self.phase_timer(now + download, job, TimerKind::DownloadDone);
    }

    pub(super) fn start_training(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        let from = j.steps_of(j.checkpointed_ns);
        let attempt = j.attempt;
        j.seen_step = false;
        self.status(now, job, SecondaryStatus::Training);
        if self.external(job) {
            self.set_phase(now, job, Phase::Computing);
            self.actions
                .push_back(TrainingAction::Start { job, attempt });
            return;
        }
        self.jobs[job].resumed_from.push(from);
        if attempt > 0 {
            self.event(
                now,
                job,
                TrainingEventKind::Resumed,
                format!("from step {from}"),
            );
        }
        self.compute(now, job);
    }

    /// Enters (or re-enters) the compute phase and schedules its end: the
    /// next checkpoint, or the end of the work.
    pub(super) fn compute(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Computing);
        let j = &self.jobs[job];
        let remaining = j.total_ns().saturating_sub(j.work_ns);
        let since_ckpt = j.work_ns - j.checkpointed_ns;
        match j.spec.checkpoint_every.map(duration_nanos) {
            Some(every) if every.saturating_sub(since_ckpt) < remaining => {
                let at = now.add_nanos(every.saturating_sub(since_ckpt));
                self.phase_timer(at, job, TimerKind::CheckpointStart);
            }
            _ => self.phase_timer(now.add_nanos(remaining), job, TimerKind::WorkDone),
        }
    }

    pub(super) fn upload(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Uploading);
        let up = self.jobs[job].spec.upload;
        self.status(now, job, SecondaryStatus::Uploading);
        self.phase_timer(now + up, job, TimerKind::UploadDone);
    }

    pub(super) fn notice(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        if j.notice_at.is_some() {
            return; // one reclaim is already coming
        }
        j.notice_at = Some(now);
        let reclaim_at = now + j.spec.market.notice;
        let fits = now + j.spec.checkpoint_cost <= reclaim_at;
        let ckpt = j.spec.checkpoint_on_notice && j.phase == Phase::Computing && fits;
        self.event(
            now,
            job,
            TrainingEventKind::SpotNotice,
            format!(
                "reclaim at {:.3}s",
                self.scale.to_scenario(reclaim_at).as_secs_f64()
            ),
        );
        self.seg_timer(reclaim_at, job, TimerKind::SpotReclaim);
        if self.external(job) {
            self.actions
                .push_back(TrainingAction::Notice { job, reclaim_at });
        } else if ckpt {
            self.set_phase(now, job, Phase::Checkpointing);
            let c = self.jobs[job].spec.checkpoint_cost;
            self.phase_timer(now + c, job, TimerKind::CheckpointDone);
        }
    }

    pub(super) fn end_segment(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        j.held_ns = j.held_until(now);
        j.seg_start = None;
        j.seg_gen += 1;
    }

    pub(super) fn reclaim(&mut self, now: SimTime, job: usize) {
        let progress = self.jobs[job].progress(now);
        self.end_segment(now, job);
        self.set_phase(now, job, Phase::Waiting);
        let external = self.external(job);
        let j = &mut self.jobs[job];
        let lost_ns = progress - j.checkpointed_ns.min(progress);
        let steps_lost = j.steps_of(progress) - j.steps_of(j.checkpointed_ns.min(progress));
        j.interruptions.push(Interruption {
            notice_at: j.notice_at.unwrap_or(now),
            reclaimed_at: now,
            lost_ns,
            steps_lost,
        });
        j.work_ns = j.checkpointed_ns;
        j.notice_at = None;
        j.attempt += 1;
        let detail = if external {
            "steps lost are known when the process resumes".to_string()
        } else {
            format!("{steps_lost} steps lost")
        };
        self.event(now, job, TrainingEventKind::Interrupted, detail);
        if external {
            self.actions.push_back(TrainingAction::Kill { job });
        }
        self.status(now, job, SecondaryStatus::Interrupted);
        self.status(now, job, SecondaryStatus::Restarting);
        self.ask_capacity(job);
    }

    pub(super) fn finish(&mut self, now: SimTime, job: usize, st: JobStatus, sec: SecondaryStatus) {
        let held = self.jobs[job].seg_start.is_some();
        if held {
            self.end_segment(now, job);
        }
        if self.external(job) && held && st != JobStatus::Completed {
            let grace = self.jobs[job].spec.stop_grace;
            self.actions.push_back(TrainingAction::Stop { job, grace });
        }
        let progress = self.jobs[job].progress(now);
        self.set_phase(now, job, Phase::Done);
        let j = &mut self.jobs[job];
        j.work_ns = progress;
        j.status = st;
        j.ended_at = Some(now);
        self.status(now, job, sec);
    }

    /// A scheduled spot interruption: its jobs on spot get their notice.
    pub(super) fn fault_start(&mut self, now: SimTime, f: usize) {
        let fault = self.faults[f].clone();
        for &job in &fault.jobs {
            if self.jobs[job].phase == Phase::Done {
                continue;
            }
            self.event(
                now,
                job,
                TrainingEventKind::Fault,
                "spot_interruption".into(),
            );
            if self.jobs[job].seg_start.is_some() && self.jobs[job].spec.spot {
                self.notice(now, job);
            }
        }
    }

    /// Jobs still going on `instance_type`.
    fn jobs_on<'a>(&'a self, instance_type: &'a str) -> impl Iterator<Item = usize> + 'a {
        (0..self.jobs.len()).filter(move |&j| {
            self.jobs[j].phase != Phase::Done && self.jobs[j].spec.instance.name == instance_type
        })
    }

    /// A shortage of `instance_type` began: its jobs hear of it (those
    /// waiting learn what it means at their next ask).
    pub(crate) fn shortage_began(&mut self, now: SimTime, instance_type: &str) {
        let jobs: Vec<usize> = self.jobs_on(instance_type).collect();
        for job in jobs {
            let what = format!("capacity_shortage of {instance_type} began");
            self.event(now, job, TrainingEventKind::Fault, what);
        }
    }

    /// A shortage of `instance_type` ended; with the pool `restored`, spot
    /// jobs that waited for it ask again.
    pub(crate) fn shortage_ended(&mut self, now: SimTime, instance_type: &str, restored: bool) {
        let jobs: Vec<usize> = self.jobs_on(instance_type).collect();
        for job in jobs {
            self.event(
                now,
                job,
                TrainingEventKind::Fault,
                "capacity_shortage ended".into(),
            );
            let j = &mut self.jobs[job];
            if restored && j.deferred && j.phase == Phase::Waiting {
                j.deferred = false;
                self.ask_capacity(job);
            }
        }
    }

    /// An external job's process reported finishing `step` (1-based).
    pub fn external_step(&mut self, now: SimTime, job: usize, step: u64) {
        let j = &mut self.jobs[job];
        if j.phase != Phase::Computing {
            return;
        }
        if !j.seen_step {
            j.seen_step = true;
            let from = step.saturating_sub(1);
            j.resumed_from.push(from);
            if j.attempt > 0 {
                let redone = j.last_step.saturating_sub(from);
                if let Some(last) = j.interruptions.last_mut() {
                    last.steps_lost = redone;
                }
                let detail = format!("from step {from} ({redone} steps to redo)");
                self.event(now, job, TrainingEventKind::Resumed, detail);
            }
        }
        let j = &mut self.jobs[job];
        j.last_step = step;
    }

    /// An external job's process wrote a checkpoint at `step`.
    pub fn external_checkpoint(&mut self, now: SimTime, job: usize, step: u64) {
        if self.jobs[job].phase == Phase::Done {
            return;
        }
        self.jobs[job].checkpoints += 1;
        self.event(
            now,
            job,
            TrainingEventKind::CheckpointWritten,
            format!("step {step}"),
        );
    }

    /// An external job's process exited on its own (not killed by the
    /// driver): success uploads the model, failure fails the job.
    pub fn external_exit(&mut self, now: SimTime, job: usize, success: bool) {
        let j = &self.jobs[job];
        if j.phase != Phase::Computing || (j.notice_at.is_some() && !success) {
            // Exiting after a notice is what a good script does: the
            // reclaim still comes and the job restarts.
            return;
        }
        if success {
            self.upload(now, job);
        } else {
            self.finish(now, job, JobStatus::Failed, SecondaryStatus::Failed);
        }
    }

    /// Stops every job still in progress (the run ended first).
    pub fn stop_all(&mut self, now: SimTime) {
        for job in 0..self.jobs.len() {
            if self.jobs[job].phase != Phase::Done {
                self.finish(now, job, JobStatus::Stopped, SecondaryStatus::Stopped);
            }
        }
    }

    /// Where job `job` stands at `now`, cheaply (for a progress line).
    pub fn progress(&self, job: usize, now: SimTime) -> JobProgress {
        let j = &self.jobs[job];
        JobProgress {
            status: j.history.last().map_or(SecondaryStatus::Starting, |h| h.1),
            step: match j.spec.work {
                TrainingWork::Modelled { .. } => j.steps_of(j.progress(now)),
                TrainingWork::External => j.last_step,
            },
            interruptions: j.interruptions.len() as u32,
        }
    }

    /// Where every job stands at `now`.
    pub fn outcomes(&self, now: SimTime) -> Vec<TrainingOutcome> {
        self.jobs.iter().map(|j| outcome(j, now)).collect()
    }
}
