//! A multi-model variant whose container is real: the core models the
//! download, asks the driver to load and unload, takes the container's
//! answers (200, 409, 507, failures, silence) and its load times, and
//! loads again when an invocation finds the model gone (404).

use std::time::Duration;

use super::{CacheUse, ModelEntry, MultiModelSpec, LOAD_LIMIT, WAIT_LIMIT};
use crate::dist::ServiceDist;
use crate::metrics::Period;
use crate::spec::*;
use crate::tests::{one_endpoint, variant};
use crate::*;

fn ms(m: u64) -> SimTime {
    SimTime::from_nanos(m * 1_000_000)
}

/// One instance of a real multi-model container with two slots and three
/// 100-byte models, memory for two, a 100 ms download each.
fn platform() -> Platform {
    let mut v = variant("A", 1, 2, ServiceDist::constant(0.0).unwrap());
    v.external = true;
    v.multi_model = Some(Box::new(MultiModelSpec {
        models: (0..3)
            .map(|i| ModelEntry {
                name: format!("model-{i}"),
                size_bytes: 100,
                weight: 1.0,
                load_time: None,
                service_scale: 1.0,
            })
            .collect(),
        memory_bytes: 200,
        disk_bytes: 1_000,
        download_bytes_per_s: 1_000.0,
        load_bytes_per_s: 1.0, // modelled loads would take 100 s: unused
        unload_time: Duration::from_secs(50),
        wait_limit: WAIT_LIMIT,
        load_limit: LOAD_LIMIT,
    }));
    let spec = one_endpoint(vec![v], Routing::Random, vec![]);
    let mut p = Platform::new(&spec, RngStreams::new(1));
    assert!(matches!(
        p.poll_action(),
        Some(Action::StartModelServer { instance: 0, .. })
    ));
    p
}

fn send(p: &mut Platform, id: u64, at: u64, model: u32) {
    run_until(p, ms(at));
    p.handle_request(
        ms(at),
        Request {
            id,
            endpoint: 0,
            target_variant: None,
            sent_at: ms(at),
            timeout_ns: 70_000_000_000,
            target_model: Some(model),
        },
    );
}

fn run_until(p: &mut Platform, t: SimTime) {
    while let Some(at) = p.poll_timeout().filter(|&at| at <= t) {
        p.handle_timeout(at);
    }
}

fn load(model: u32) -> Action {
    Action::LoadModel {
        instance: 0,
        endpoint: 0,
        variant: 0,
        model,
    }
}

fn unload(model: u32) -> Action {
    Action::UnloadModel {
        instance: 0,
        endpoint: 0,
        variant: 0,
        model,
    }
}

fn actions(p: &mut Platform) -> Vec<Action> {
    std::iter::from_fn(|| p.poll_action()).collect()
}

fn results(p: &mut Platform) -> Vec<RequestResult> {
    std::iter::from_fn(|| p.poll_result()).collect()
}

/// Serves the started request `id` of model `model`, answering `answer`
/// at `at`.
fn serve(p: &mut Platform, id: u64, model: u32, at: u64, answer: Result<(), u16>) {
    let st = p.poll_start().expect("a started request");
    assert_eq!((st.id, st.model), (id, model));
    p.handle_completion(ms(at), st, answer);
}

#[test]
fn the_driver_loads_after_the_modelled_download_and_its_answers_rule() {
    let mut p = platform();
    // Cold: the download is modelled (100 ms), then the container loads.
    send(&mut p, 1, 0, 0);
    assert!(actions(&mut p).is_empty() && p.poll_start().is_none());
    run_until(&mut p, ms(100));
    assert_eq!(actions(&mut p), [load(0)]);
    p.handle_model_load(ms(150), 0, 0, ModelLoadAnswer::Loaded, 50_000_000);
    serve(&mut p, 1, 0, 160, Ok(()));
    let r = results(&mut p);
    assert_eq!((r[0].outcome, r[0].cache), (Outcome::Ok, CacheUse::Miss));
    assert_eq!(r[0].model_wait_us, 150_000);

    send(&mut p, 2, 200, 1);
    run_until(&mut p, ms(300));
    assert_eq!(actions(&mut p), [load(1)]);
    p.handle_model_load(ms(310), 0, 1, ModelLoadAnswer::Loaded, 10_000_000);
    serve(&mut p, 2, 1, 311, Ok(()));

    // Memory is full: model-0 (least recently used) is unloaded at once,
    // and model-2 loads after its download; the container says 507, so
    // model-1 goes too and the load is asked again.
    send(&mut p, 3, 400, 2);
    assert_eq!(actions(&mut p), [unload(0)]);
    p.handle_model_unload(ms(405), 0, 5_000_000);
    run_until(&mut p, ms(500));
    assert_eq!(actions(&mut p), [load(2)]);
    p.handle_model_load(ms(510), 0, 2, ModelLoadAnswer::OutOfMemory, 1_000_000);
    assert_eq!(actions(&mut p), [unload(1), load(2)]);
    p.handle_model_unload(ms(512), 0, 2_000_000);
    p.handle_model_load(ms(520), 0, 2, ModelLoadAnswer::Loaded, 8_000_000);
    serve(&mut p, 3, 2, 521, Ok(()));
    assert_eq!(results(&mut p).len(), 2);

    let stats = &p.model_stats(ms(600))[0];
    assert_eq!(
        (
            stats.counts.loads,
            stats.counts.unloads,
            stats.counts.downloads
        ),
        (3, 2, 3)
    );
    assert_eq!(stats.loaded_end, 1);
    // The container's own times are what the metrics report.
    let d = p
        .latest_datapoint(ms(60_001), 0, 0, Period::Standard)
        .unwrap();
    assert_eq!((d.model_loading.count, d.model_loading.sum_us), (3, 68_000));
    assert_eq!(
        (d.model_unloading.count, d.model_unloading.sum_us),
        (2, 7_000)
    );
    assert_eq!(d.model_downloading.count, 3);
}

#[test]
fn a_404_loads_the_model_again_once_and_409_counts_as_loaded() {
    let mut p = platform();
    send(&mut p, 1, 0, 0);
    run_until(&mut p, ms(100));
    assert_eq!(actions(&mut p), [load(0)]);
    p.handle_model_load(ms(110), 0, 0, ModelLoadAnswer::Loaded, 10_000_000);
    serve(&mut p, 1, 0, 111, Ok(()));
    results(&mut p);

    // The container lost model-0 behind the platform's back: a hit that
    // gets 404 waits for a new load (the file is on disk: asked at once).
    send(&mut p, 2, 200, 0);
    serve(&mut p, 2, 0, 201, Err(404));
    assert!(results(&mut p).is_empty());
    assert_eq!(actions(&mut p), [load(0)]);
    p.handle_model_load(ms(205), 0, 0, ModelLoadAnswer::AlreadyLoaded, 1_000_000);
    serve(&mut p, 2, 0, 206, Ok(()));
    let r = results(&mut p);
    assert_eq!(
        (r[0].id, r[0].outcome, r[0].cache),
        (2, Outcome::Ok, CacheUse::Miss)
    );

    // A container that still says 404 after the new load: its error.
    send(&mut p, 3, 300, 0);
    serve(&mut p, 3, 0, 301, Err(404));
    assert_eq!(actions(&mut p), [load(0)]);
    p.handle_model_load(ms(302), 0, 0, ModelLoadAnswer::Loaded, 1_000_000);
    serve(&mut p, 3, 0, 303, Err(404));
    let r = results(&mut p);
    assert_eq!(
        (r[0].id, r[0].outcome, r[0].cause),
        (3, Outcome::Client4xx, Cause::ModelError(404))
    );
    assert_eq!(p.model_stats(ms(400))[0].counts.loads, 3);
}

#[test]
fn failed_and_silent_loads_fail_their_waiters() {
    let mut p = platform();
    send(&mut p, 1, 0, 0);
    send(&mut p, 2, 10, 0);
    run_until(&mut p, ms(100));
    assert_eq!(actions(&mut p), [load(0)]);
    p.handle_model_load(ms(120), 0, 0, ModelLoadAnswer::Failed, 20_000_000);
    let r = results(&mut p);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.cause == Cause::ModelLoadFailed));

    // No answer: at 60 s the request gets ModelNotReadyException, at
    // 360 s the load fails and the container is told to drop the model.
    send(&mut p, 3, 1_000, 1);
    run_until(&mut p, ms(1_100));
    assert_eq!(actions(&mut p), [load(1)]);
    run_until(&mut p, ms(61_000));
    let r = results(&mut p);
    assert_eq!((r[0].id, r[0].cause), (3, Cause::ModelNotReady));
    run_until(&mut p, ms(361_000));
    assert_eq!(actions(&mut p), [unload(1)]);
    // Its late answer changes nothing.
    p.handle_model_load(ms(362_000), 0, 1, ModelLoadAnswer::Loaded, 1);
    let c = &p.model_stats(ms(400_000))[0].counts;
    assert_eq!((c.loads, c.load_failures, c.model_not_ready), (0, 2, 1));
    assert!(p.poll_start().is_none());
}
