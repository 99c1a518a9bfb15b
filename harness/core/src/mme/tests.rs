use std::time::Duration;

use super::*;
use crate::rng::RngStreams;

fn spec(sizes: &[u64], memory: u64, disk: u64) -> MultiModelSpec {
    MultiModelSpec {
        models: sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| ModelEntry {
                name: format!("model-{i}"),
                size_bytes: s,
                weight: 1.0,
                load_time: None,
                service_scale: 1.0,
            })
            .collect(),
        memory_bytes: memory,
        disk_bytes: disk,
        download_bytes_per_s: 1e9,
        load_bytes_per_s: 1e9,
        unload_time: Duration::from_millis(100),
        wait_limit: WAIT_LIMIT,
        load_limit: LOAD_LIMIT,
    }
}

/// Loads `m` as hosting does when nothing is in use.
fn load(c: &mut ModelCache, s: &MultiModelSpec, m: u32) -> Vec<u32> {
    let victims = c.reserve(m, s).expect("room");
    c.fetch(m, s);
    c.loaded_now(m);
    victims
}

#[test]
fn evicts_the_least_recently_used_model_without_users() {
    let s = spec(&[10, 10, 10, 10], 30, 1000);
    let mut c = ModelCache::new(4);
    for m in 0..3 {
        assert!(load(&mut c, &s, m).is_empty());
    }
    // 0 is used again: 1 is now the least recently used.
    c.acquire(0);
    c.release(0);
    assert_eq!(load(&mut c, &s, 3), vec![1]);
    assert_eq!(c.lookup(1), CacheLookup::Absent);
    assert_eq!(c.loaded(), 3);
    assert_eq!(c.mem_used(), 30);
    // A model in use is never a victim: 2 is next, but it is busy.
    c.acquire(2);
    assert_eq!(load(&mut c, &s, 1), vec![0]);
    c.release(2);
}

#[test]
fn a_load_that_cannot_fit_beside_models_in_use_changes_nothing() {
    let s = spec(&[20, 20, 20], 40, 1000);
    let mut c = ModelCache::new(3);
    load(&mut c, &s, 0);
    load(&mut c, &s, 1);
    c.acquire(0);
    c.acquire(1);
    assert_eq!(c.reserve(2, &s), None);
    assert_eq!(c.mem_used(), 40);
    assert_eq!(c.lookup(2), CacheLookup::Absent);
    c.wait_for_memory(2);
    assert_eq!(c.lookup(2), CacheLookup::Loading);
    c.release(1);
    assert_eq!(c.reserve(2, &s), Some(vec![1]));
}

#[test]
fn unloaded_models_stay_on_disk_until_it_fills() {
    // Memory for one model, disk for two files.
    let s = spec(&[10, 10, 10], 10, 20);
    let mut c = ModelCache::new(3);
    load(&mut c, &s, 0);
    assert_eq!(load(&mut c, &s, 1), vec![0]);
    assert!(c.on_disk(0), "unloaded, still on disk");
    assert_eq!(c.reserve(0, &s), Some(vec![1]));
    assert_eq!(c.fetch(0, &s), (false, 0), "no download: the file is there");
    c.loaded_now(0);
    // Fetching 2 deletes the least recently used file: 1's.
    assert_eq!(c.reserve(2, &s), Some(vec![0]));
    assert_eq!(c.fetch(2, &s), (true, 1));
    assert!(!c.on_disk(1));
    assert!(c.on_disk(0));
    assert_eq!(c.disk_used(), 20);
}

#[test]
fn a_failed_load_gives_its_memory_back() {
    let s = spec(&[10, 10], 10, 100);
    let mut c = ModelCache::new(2);
    c.reserve(0, &s).expect("room");
    assert_eq!(c.mem_used(), 10);
    c.load_failed(0, &s);
    assert_eq!(c.mem_used(), 0);
    c.wait_for_memory(1);
    c.load_failed(1, &s);
    assert_eq!(c.mem_used(), 0, "a waiting load held no memory");
}

#[test]
fn zipf_mix_draws_each_model_at_its_share() {
    let mix = ModelMix::new(ModelMix::zipf_weights(5, 1.0));
    let p = mix.probabilities();
    let mut rng = RngStreams::new(3).stream("mix");
    let mut n = [0u32; 5];
    let draws = 200_000;
    for _ in 0..draws {
        n[mix.pick(&mut rng) as usize] += 1;
    }
    for (i, &k) in n.iter().enumerate() {
        let share = f64::from(k) / f64::from(draws);
        assert!(
            (share - p[i]).abs() < 0.005,
            "model {i}: {share} vs {}",
            p[i]
        );
    }
}

#[test]
fn che_reference_matches_the_published_test_vector() {
    // ICR's test: Zipf 0.8, N = 100, C = 40 gives about 0.64.
    let q = ModelMix::new(ModelMix::zipf_weights(100, 0.8)).probabilities();
    let h = che_hit_ratio(&q, 40.0);
    assert!((0.63..0.66).contains(&h), "{h}");
}

#[test]
fn the_cache_alone_matches_che() {
    for &(alpha, n, c) in &[(0.8, 100usize, 40u64), (0.8, 1000, 100), (1.0, 1000, 100)] {
        let s = spec(&vec![1; n], c, u64::MAX);
        let mix = ModelMix::new(ModelMix::zipf_weights(n, alpha));
        let mut cache = ModelCache::new(n);
        let mut rng = RngStreams::new(11).stream("che");
        let (warm, measured) = (100_000, 400_000);
        let mut hits = 0u32;
        for k in 0..warm + measured {
            let m = mix.pick(&mut rng);
            let hit = cache.lookup(m) == CacheLookup::Hit;
            if !hit {
                load(&mut cache, &s, m);
            }
            cache.acquire(m);
            cache.release(m);
            if k >= warm && hit {
                hits += 1;
            }
        }
        let sim = f64::from(hits) / f64::from(measured);
        let che = che_hit_ratio(&mix.probabilities(), c as f64);
        assert!(
            (sim - che).abs() < 0.01,
            "alpha {alpha}, N {n}, C {c}: simulated {sim:.4}, Che {che:.4}"
        );
    }
}
