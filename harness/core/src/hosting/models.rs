//! Multi-model variants: routing a request to an instance that holds its
//! model, cold loads (unloads to make room, the download, the load), the
//! requests waiting for them and the 60 s limit on that wait, load
//! failures, and what an instance loses when it dies.
//!
//! Routing, gameday's rule (AWS says only that requests go back to an
//! instance that holds the model and that a hot model may spread): among
//! the routable instances that hold the model (loaded or loading), the
//! one with the fewest outstanding requests, ties to the first after a
//! rotating cursor. If that one is full (as many outstanding requests as
//! request slots) or none holds the model, the endpoint's own routing
//! picks an instance, and the request goes there if it has a free slot
//! (a hot model spreads, or a cold one loads where there is room);
//! otherwise to the least-loaded holder.

use std::collections::VecDeque;

use super::{Hosting, InstanceState, Queued, Timer};
use crate::dist::unit;
use crate::metrics::{Level, NsStat};
use crate::mme::{CacheLookup, CacheUse, ModelCache, ModelTag, MultiModelSpec};
use crate::outcome::{Action, Cause, EventKind, ModelLoadAnswer, Outcome, RequestResult};
use crate::spec::FaultKind;
use crate::time::{duration_nanos, SimTime};

/// Loads, unloads and load failures listed in `events.csv` per variant
/// and kind; past that they are only counted (`report.json` has every
/// count), so a thrashing day does not write millions of rows.
pub const LISTED_MODEL_EVENTS: u32 = 100;

/// A request waiting on an instance for its model.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    model: u32,
    arrived: SimTime,
    /// The 60 s limit or the client's deadline, whichever is first.
    until: SimTime,
    q: Queued,
}

/// A load in progress.
#[derive(Clone, Copy, Debug)]
struct LoadJob {
    model: u32,
    download_ns: u64,
    load_ns: u64,
    fails: bool,
    /// When its timer is due: the end of the load (modelled), or of the
    /// download and then the 360 s limit (a real container's).
    ready: SimTime,
    /// The variant's container is real: the driver loads the model.
    external: bool,
    /// The container was asked to load it (after the download).
    asked: bool,
    /// When SageMaker's load limit runs out.
    deadline: SimTime,
}

/// One multi-model instance's models and the requests waiting for them.
#[derive(Debug)]
pub(crate) struct InstanceModels {
    cache: ModelCache,
    waiters: Vec<Waiter>,
    loads: Vec<LoadJob>,
    /// Models whose load waits for memory the models in use hold, oldest
    /// first.
    short: VecDeque<u32>,
}

impl InstanceModels {
    pub(crate) fn new(models: usize) -> Self {
        InstanceModels {
            cache: ModelCache::new(models),
            waiters: Vec::new(),
            loads: Vec::new(),
            short: VecDeque::new(),
        }
    }
}

/// Download, load and unload times since the last metrics boundary (what
/// `ModelDownloadingTime`, `ModelLoadingTime` and `ModelUnloadingTime`
/// report).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ModelOps {
    pub(crate) downloading: NsStat,
    pub(crate) loading: NsStat,
    pub(crate) unloading: NsStat,
}

/// Counts of a multi-model variant over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelCounts {
    /// Loads that finished.
    pub loads: u64,
    /// Models unloaded to make room.
    pub unloads: u64,
    /// Downloads from S3 (loads whose file was not on disk).
    pub downloads: u64,
    /// Loads that failed.
    pub load_failures: u64,
    /// Requests answered `ModelNotReadyException`.
    pub model_not_ready: u64,
    /// Loads per model, in model order.
    pub loads_per_model: Vec<u32>,
}

/// A multi-model variant over the run, for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelStats {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// Loads, unloads, downloads, failures.
    pub counts: ModelCounts,
    /// Models loaded (summed over instances), time-averaged.
    pub loaded_mean: f64,
    /// Models loaded at the end.
    pub loaded_end: u32,
}

/// A multi-model variant's counters and levels.
#[derive(Debug)]
pub(crate) struct VariantModels {
    pub(crate) counts: ModelCounts,
    pub(crate) ops: ModelOps,
    /// Models loaded, summed over instances.
    pub(crate) loaded: Level,
    listed: [u32; 3],
    cursor: usize,
}

impl VariantModels {
    pub(crate) fn new(models: usize) -> Self {
        VariantModels {
            counts: ModelCounts {
                loads_per_model: vec![0; models],
                ..ModelCounts::default()
            },
            ops: ModelOps::default(),
            loaded: Level::default(),
            listed: [0; 3],
            cursor: 0,
        }
    }

    /// Whether the next event of this kind is still listed.
    fn list(&mut self, kind: EventKind) -> bool {
        let k = match kind {
            EventKind::ModelLoaded => 0,
            EventKind::ModelUnloaded => 1,
            _ => 2,
        };
        self.listed[k] += 1;
        self.listed[k] <= LISTED_MODEL_EVENTS
    }
}

impl Hosting {
    /// Every multi-model variant's counts over `[0, until]`.
    pub(crate) fn model_stats(&self, until: SimTime) -> Vec<ModelStats> {
        let mut out = Vec::new();
        for (e, ep) in self.endpoints.iter().enumerate() {
            for (v, vs) in ep.variants.iter().enumerate() {
                let Some(mme) = &vs.mme else { continue };
                out.push(ModelStats {
                    endpoint: e as u16,
                    variant: v as u16,
                    counts: mme.counts.clone(),
                    loaded_mean: mme.loaded.area_at(until) as f64 / until.as_nanos().max(1) as f64,
                    loaded_end: mme.loaded.get(),
                });
            }
        }
        out
    }

    /// The instance a request for model `m` of variant `v` goes to.
    pub(super) fn pick_model_instance(&mut self, e: usize, v: usize, m: u32) -> Option<u32> {
        let vs = &mut self.endpoints[e].variants[v];
        let n = vs.routable.len();
        if n == 0 {
            return None;
        }
        let concurrency = vs.spec.concurrency.max(1);
        let mme = vs.mme.as_mut().expect("a multi-model variant");
        let start = mme.cursor % n;
        mme.cursor = mme.cursor.wrapping_add(1);
        let mut best: Option<(u32, u32)> = None;
        for k in 0..n {
            let id = vs.routable[(start + k) % n];
            let i = &self.instances[id as usize];
            if i.models.as_ref().is_some_and(|c| c.cache.holds(m))
                && best.is_none_or(|(_, load)| i.outstanding < load)
            {
                best = Some((id, i.outstanding));
            }
        }
        if let Some((id, load)) = best {
            if load < concurrency {
                return Some(id);
            }
        }
        let other = self.pick_instance(e, v)?;
        match best {
            Some((id, _)) if self.instances[other as usize].outstanding >= concurrency => Some(id),
            _ => Some(other),
        }
    }

    /// A request for model `m` reached instance `inst`: a hit goes on to
    /// a slot (returned, tagged); a miss waits for the load, started now
    /// if none is under way.
    pub(super) fn model_lookup(
        &mut self,
        now: SimTime,
        inst: u32,
        m: u32,
        mut q: Queued,
    ) -> Option<Queued> {
        let i = &mut self.instances[inst as usize];
        let models = i.models.as_mut().expect("a multi-model instance");
        let found = models.cache.lookup(m);
        models.cache.acquire(m);
        q.tag = ModelTag {
            model: m,
            cache: if found == CacheLookup::Hit {
                CacheUse::Hit
            } else {
                CacheUse::Miss
            },
            wait_us: 0,
            retried: false,
            ..q.tag
        };
        if found == CacheLookup::Hit {
            return Some(q);
        }
        self.wait_for_model(now, inst, q, found == CacheLookup::Absent);
        None
    }

    /// A real container answered 404 for request `q`'s model on `inst`:
    /// the platform forgets it there, loads it again (unless a load is
    /// already under way) and `q` waits for it.
    pub(super) fn model_missing(&mut self, now: SimTime, inst: u32, mut q: Queued) {
        let i = &mut self.instances[inst as usize];
        let (e, v) = i_ev(i);
        let m = q.tag.model;
        let models = i.models.as_mut().expect("a multi-model instance");
        let vs = &mut self.endpoints[e].variants[v];
        let spec = vs
            .spec
            .multi_model
            .as_deref()
            .expect("a multi-model variant");
        if models.cache.lookup(m) == CacheLookup::Hit {
            models.cache.forget(m, spec);
            if let Some(mme) = vs.mme.as_mut() {
                mme.loaded.down(now, 1);
            }
        }
        let absent = models.cache.lookup(m) == CacheLookup::Absent;
        q.tag.cache = CacheUse::Miss;
        self.wait_for_model(now, inst, q, absent);
    }

    /// Request `q` waits on `inst` for its model, whose load starts now if
    /// `absent`.
    fn wait_for_model(&mut self, now: SimTime, inst: u32, q: Queued, absent: bool) {
        let m = q.tag.model;
        let i = &mut self.instances[inst as usize];
        let (e, v) = i_ev(i);
        let models = i.models.as_mut().expect("a multi-model instance");
        let spec = self.endpoints[e].variants[v]
            .spec
            .multi_model
            .as_deref()
            .expect("a multi-model variant");
        let until = q.deadline.min(now + spec.wait_limit);
        models.waiters.push(Waiter {
            model: m,
            arrived: now,
            until,
            q,
        });
        if absent {
            self.begin_load(now, inst, m);
        }
        // A modelled load that ends by the wait's limit answers the waiter
        // itself: only the others need a timer (most waits end with their
        // load). A real container's load ends when it ends.
        let ends_in_time = self.instances[inst as usize]
            .models
            .as_ref()
            .is_some_and(|x| {
                x.loads
                    .iter()
                    .any(|j| j.model == m && !j.external && j.ready <= until)
            });
        if !ends_in_time {
            self.timers
                .push_back((until, Timer::ModelWaitExpiry { instance: inst }));
        }
    }

    /// Starts loading model `m` on `inst`, or queues it for memory.
    fn begin_load(&mut self, now: SimTime, inst: u32, m: u32) {
        let i = &mut self.instances[inst as usize];
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        let models = i.models.as_mut().expect("a multi-model instance");
        let spec = self.endpoints[e].variants[v]
            .spec
            .multi_model
            .as_deref()
            .expect("a multi-model variant");
        let mut victims = std::mem::take(&mut self.victims);
        if models.cache.reserve_into(m, spec, &mut victims) {
            self.start_load(now, inst, m, &victims);
        } else {
            models.cache.wait_for_memory(m);
            models.short.push_back(m);
        }
        self.victims = victims;
    }

    /// Memory is counted for model `m` on `inst` and `victims` were
    /// unloaded for it: the download (if its file is not on disk) runs
    /// while they unload, then it loads.
    fn start_load(&mut self, now: SimTime, inst: u32, m: u32, victims: &[u32]) {
        let i = &mut self.instances[inst as usize];
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        let ep = &mut self.endpoints[e];
        let models = i.models.as_mut().expect("a multi-model instance");
        let vs = &mut ep.variants[v];
        let spec: &MultiModelSpec = vs.spec.multi_model.as_deref().expect("multi-model");
        let (download, _) = models.cache.fetch(m, spec);
        // Faults on this variant: a slower download, a failing load.
        let mut slowdown = 1.0;
        let mut fails = false;
        for &f in &ep.active_faults {
            let fault = &self.faults[f as usize];
            if fault.target.variant.is_some_and(|fv| fv != v) {
                continue;
            }
            match fault.kind {
                FaultKind::ModelDownloadSlow { factor } => slowdown *= factor,
                FaultKind::ModelLoadFailure {
                    model: Some(fm), ..
                } => fails |= fm == m,
                FaultKind::ModelLoadFailure { rate, model: None } => {
                    fails |= unit(&mut self.fault_rngs[f as usize]) < rate;
                }
                _ => {}
            }
        }
        let download_ns = if download {
            spec.download_ns(m as usize, slowdown)
        } else {
            0
        };
        let external = vs.spec.external;
        let limit_ns = duration_nanos(spec.load_limit);
        // A real container's unloads and load take what they take; the
        // download (SageMaker's, from S3 to the instance) is modelled.
        let (unload_ns, load_ns) = if external {
            (0, 0)
        } else {
            (
                duration_nanos(spec.unload_time) * victims.len() as u64,
                spec.load_ns(m as usize),
            )
        };
        let mut took = unload_ns.max(download_ns).saturating_add(load_ns);
        if took > limit_ns {
            // SageMaker gives a load 360 s.
            fails = true;
            took = limit_ns;
        }
        let ready = now.add_nanos(took);
        let ask_now = external && !fails && download_ns == 0;
        let deadline = now.add_nanos(limit_ns);
        models.loads.push(LoadJob {
            model: m,
            download_ns,
            load_ns,
            fails,
            ready: if ask_now { deadline } else { ready },
            external,
            asked: ask_now,
            deadline,
        });
        let unload_each = duration_nanos(spec.unload_time);
        let mme = vs.mme.as_mut().expect("multi-model");
        mme.counts.unloads += victims.len() as u64;
        mme.counts.downloads += u64::from(download);
        if external {
            // The container unloads them, in order, before it loads `m`;
            // their times come back with the driver's reports.
            for &x in victims {
                self.actions.push_back(model_action(false, inst, e, v, x));
            }
        } else {
            for _ in victims {
                mme.ops.unloading.add(unload_each);
            }
        }
        if !victims.is_empty() {
            mme.loaded.down(now, victims.len() as u32);
        }
        let listed = victims
            .iter()
            .filter(|_| mme.list(EventKind::ModelUnloaded))
            .count();
        if listed > 0 {
            let names: Vec<String> = victims[..listed]
                .iter()
                .map(|&x| spec.models[x as usize].name.clone())
                .collect();
            for name in names {
                let detail = format!("{name} unloaded to make room");
                self.event(
                    now,
                    EventKind::ModelUnloaded,
                    e,
                    Some(v),
                    Some(inst),
                    detail,
                );
            }
        }
        if ask_now {
            self.actions.push_back(model_action(true, inst, e, v, m));
        }
        self.timers.push_back((
            if ask_now { deadline } else { ready },
            Timer::ModelReady {
                instance: inst,
                model: m,
            },
        ));
    }

    /// The timer of model `m`'s load on `inst` is due: a modelled load
    /// ended; a real container is asked to load it now that the download
    /// is over, or has run out of time.
    pub(super) fn model_ready(&mut self, now: SimTime, inst: u32, m: u32) {
        let i = &mut self.instances[inst as usize];
        if i.state != InstanceState::InService {
            return; // died while loading: the crash failed the waiters
        }
        let (e, v) = i_ev(i);
        let Some(models) = i.models.as_mut() else {
            return;
        };
        // A real container's load may have ended (and another begun)
        // before an older timer of the same model comes due.
        let Some(at) = models
            .loads
            .iter()
            .position(|j| j.model == m && j.ready <= now)
        else {
            return;
        };
        let job = &mut models.loads[at];
        if job.external && !job.fails {
            if !job.asked {
                job.asked = true;
                job.ready = job.deadline;
                let deadline = job.deadline;
                self.actions.push_back(model_action(true, inst, e, v, m));
                self.timers.push_back((
                    deadline,
                    Timer::ModelReady {
                        instance: inst,
                        model: m,
                    },
                ));
                return;
            }
            // 360 s and the container has not answered: the load fails,
            // and the container is told to drop the model if it ever
            // finishes.
            job.fails = true;
            self.actions.push_back(model_action(false, inst, e, v, m));
        }
        let job = models.loads.swap_remove(at);
        self.finish_load(now, inst, job);
    }

    /// A real container answered the load of model `m` on `inst` after
    /// `took_ns`. Late answers (past the limit, or from an instance that
    /// died) are ignored.
    pub(crate) fn model_load_answered(
        &mut self,
        now: SimTime,
        inst: u32,
        m: u32,
        answer: ModelLoadAnswer,
        took_ns: u64,
    ) {
        let Some(i) = self.instances.get_mut(inst as usize) else {
            return;
        };
        if i.state != InstanceState::InService {
            return;
        }
        let (e, v) = i_ev(i);
        let Some(models) = i.models.as_mut() else {
            return;
        };
        let Some(at) = models
            .loads
            .iter()
            .position(|j| j.model == m && j.external && j.asked)
        else {
            return;
        };
        match answer {
            ModelLoadAnswer::Loaded | ModelLoadAnswer::AlreadyLoaded => {
                models.loads[at].load_ns = took_ns;
            }
            ModelLoadAnswer::Failed => models.loads[at].fails = true,
            ModelLoadAnswer::OutOfMemory => {
                let vs = &mut self.endpoints[e].variants[v];
                let spec = vs.spec.multi_model.as_deref().expect("multi-model");
                if let Some(x) = models.cache.unload_one(m, spec) {
                    let name = spec.models[x as usize].name.clone();
                    let mme = vs.mme.as_mut().expect("multi-model");
                    mme.counts.unloads += 1;
                    mme.loaded.down(now, 1);
                    let listed = mme.list(EventKind::ModelUnloaded);
                    self.actions.push_back(model_action(false, inst, e, v, x));
                    self.actions.push_back(model_action(true, inst, e, v, m));
                    if listed {
                        let detail =
                            format!("{name} unloaded: the container was out of memory (507)");
                        self.event(
                            now,
                            EventKind::ModelUnloaded,
                            e,
                            Some(v),
                            Some(inst),
                            detail,
                        );
                    }
                    return;
                }
                // Nothing left to unload: the load fails.
                models.loads[at].fails = true;
            }
        }
        let job = models.loads.swap_remove(at);
        self.finish_load(now, inst, job);
    }

    /// A real container unloaded a model of `inst` in `took_ns`
    /// (`ModelUnloadingTime`).
    pub(crate) fn model_unload_answered(&mut self, inst: u32, took_ns: u64) {
        let Some(i) = self.instances.get(inst as usize) else {
            return;
        };
        let (e, v) = i_ev(i);
        if let Some(mme) = self.endpoints[e].variants[v].mme.as_mut() {
            mme.ops.unloading.add(took_ns);
        }
    }

    /// Model `m`'s load `job` on `inst` is over: its waiters go on to
    /// slots, or fail with the load.
    fn finish_load(&mut self, now: SimTime, inst: u32, job: LoadJob) {
        let m = job.model;
        let i = &mut self.instances[inst as usize];
        let (e, v) = i_ev(i);
        let models = i.models.as_mut().expect("a multi-model instance");
        let mut waiting = Vec::new();
        models.waiters.retain(|w| {
            if w.model == m {
                waiting.push(*w);
            }
            w.model != m
        });
        let vs = &mut self.endpoints[e].variants[v];
        let spec = vs.spec.multi_model.as_deref().expect("multi-model");
        let name = spec.models[m as usize].name.clone();
        let mme = vs.mme.as_mut().expect("multi-model");
        if job.fails {
            models.cache.load_failed(m, spec);
            mme.counts.load_failures += 1;
            if mme.list(EventKind::ModelLoadFailed) {
                let detail = format!("{name}: load failed, {} requests failed", waiting.len());
                self.event(
                    now,
                    EventKind::ModelLoadFailed,
                    e,
                    Some(v),
                    Some(inst),
                    detail,
                );
            }
            for w in waiting {
                self.answer_waiter(now, inst, w, Outcome::Client4xx, Cause::ModelLoadFailed);
            }
            self.retry_short(now, inst);
            self.drained(now, inst);
            return;
        }
        models.cache.loaded_now(m);
        mme.loaded.up(now);
        mme.counts.loads += 1;
        mme.counts.loads_per_model[m as usize] += 1;
        if job.download_ns > 0 {
            mme.ops.downloading.add(job.download_ns);
        }
        mme.ops.loading.add(job.load_ns);
        if mme.list(EventKind::ModelLoaded) {
            let detail = format!("{name} loaded; {} requests were waiting", waiting.len());
            self.event(now, EventKind::ModelLoaded, e, Some(v), Some(inst), detail);
        }
        for mut w in waiting {
            w.q.tag.wait_us = (now.nanos_since(w.arrived) / 1_000).min(u64::from(u32::MAX)) as u32;
            self.take_slot_or_queue(now, inst, w.q);
        }
    }

    /// Requests on `inst` whose wait for their model is over get
    /// `ModelNotReadyException` (or, past their client's deadline, time
    /// out); the loads go on.
    pub(super) fn expire_model_waits(&mut self, now: SimTime, inst: u32) {
        let i = &mut self.instances[inst as usize];
        if i.state != InstanceState::InService {
            return;
        }
        let (e, v) = i_ev(i);
        let Some(models) = i.models.as_mut() else {
            return;
        };
        let mut over = Vec::new();
        models.waiters.retain(|w| {
            if w.until <= now {
                over.push(*w);
            }
            w.until > now
        });
        for w in over {
            if w.q.deadline <= now {
                self.answer_waiter(now, inst, w, Outcome::Timeout, Cause::Timeout);
            } else {
                if let Some(mme) = self.endpoints[e].variants[v].mme.as_mut() {
                    mme.counts.model_not_ready += 1;
                }
                self.answer_waiter(now, inst, w, Outcome::Throttled, Cause::ModelNotReady);
            }
        }
        self.drained(now, inst);
    }

    /// Answers a waiting request without service.
    fn answer_waiter(
        &mut self,
        now: SimTime,
        inst: u32,
        w: Waiter,
        outcome: Outcome,
        cause: Cause,
    ) {
        let (e, v) = i_ev(&self.instances[inst as usize]);
        self.instances[inst as usize].outstanding -= 1;
        let latency_ns = if outcome == Outcome::Timeout {
            w.q.timeout_ns
        } else {
            now.nanos_since(w.q.sent_at)
        };
        self.results.push_back(RequestResult {
            id: w.q.id,
            endpoint: e as u16,
            variant: v as u16,
            sent_at: w.q.sent_at,
            latency_ns,
            queue_wait_ns: latency_ns,
            outcome,
            cause,
            cache: CacheUse::Miss,
            model_wait_us: (now.nanos_since(w.arrived) / 1_000).min(u64::from(u32::MAX)) as u32,
            features: crate::features::FeatureUse::NONE,
        });
        self.change_in_system(now, e, v, false);
        self.release_model(now, inst, w.model);
    }

    /// A request for model `m` left `inst`: if `m` has no user left,
    /// loads waiting for memory may now find room.
    #[inline]
    pub(super) fn release_model(&mut self, now: SimTime, inst: u32, m: u32) {
        if m == ModelTag::NO_MODEL {
            return;
        }
        let Some(models) = self.instances[inst as usize].models.as_mut() else {
            return;
        };
        if models.cache.release(m) && !models.short.is_empty() {
            self.retry_short(now, inst);
        }
    }

    /// Starts the loads waiting for memory on `inst` that now fit, oldest
    /// first; stops at the first that does not.
    fn retry_short(&mut self, now: SimTime, inst: u32) {
        loop {
            let i = &mut self.instances[inst as usize];
            let (e, v) = (i.endpoint as usize, i.variant as usize);
            let Some(models) = i.models.as_mut() else {
                return;
            };
            let Some(&m) = models.short.front() else {
                return;
            };
            let spec = self.endpoints[e].variants[v]
                .spec
                .multi_model
                .as_deref()
                .expect("multi-model");
            let mut victims = std::mem::take(&mut self.victims);
            if !models.cache.reserve_into(m, spec, &mut victims) {
                self.victims = victims;
                return;
            }
            models.short.pop_front();
            self.start_load(now, inst, m, &victims);
            self.victims = victims;
        }
    }

    /// `inst` died or terminated: its models are gone, and the requests
    /// waiting for them fail (a crash) — a drained instance has none.
    pub(super) fn lose_models(&mut self, now: SimTime, inst: u32) -> u32 {
        let i = &mut self.instances[inst as usize];
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        let Some(models) = i.models.take() else {
            return 0;
        };
        let mme = self.endpoints[e].variants[v]
            .mme
            .as_mut()
            .expect("multi-model");
        let loaded = models.cache.loaded();
        if loaded > 0 {
            mme.loaded.down(now, loaded);
        }
        let failed = models.waiters.len() as u32;
        for w in &models.waiters {
            self.finish_request(
                e,
                v,
                w.q.id,
                w.q.sent_at,
                now.nanos_since(w.q.sent_at),
                now.nanos_since(w.q.sent_at),
                Outcome::Server5xx,
                w.q.tag,
            );
            self.change_in_system(now, e, v, false);
        }
        failed
    }
}

#[inline]
fn i_ev(i: &super::Instance) -> (usize, usize) {
    (i.endpoint as usize, i.variant as usize)
}

/// The driver's load (`load`) or unload of model `m` on `inst`.
fn model_action(load: bool, inst: u32, e: usize, v: usize, m: u32) -> Action {
    let (endpoint, variant) = (e as u16, v as u16);
    if load {
        Action::LoadModel {
            instance: inst,
            endpoint,
            variant,
            model: m,
        }
    } else {
        Action::UnloadModel {
            instance: inst,
            endpoint,
            variant,
            model: m,
        }
    }
}
