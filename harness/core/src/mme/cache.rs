//! One instance's model cache: which models are in memory, which files
//! are on disk, and the least-recently-used order of each.
//!
//! Both orders are intrusive doubly linked lists over model indices, so
//! a request's touch, a load and an eviction are O(1) (an eviction skips
//! the models still in use, of which there are at most as many as the
//! instance holds requests).

use super::MultiModelSpec;

const NIL: u32 = u32::MAX;

/// Where a model stands in an instance's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelMem {
    /// Not in memory (its file may be on disk).
    #[default]
    Absent,
    /// Being downloaded and/or loaded, or waiting for memory to do so.
    Loading,
    /// In memory, ready to serve.
    Loaded,
}

/// What a request finds when it looks its model up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheLookup {
    /// Loaded: a cache hit.
    Hit,
    /// A load is in progress: the request waits for it.
    Loading,
    /// Not in memory: a load must start.
    Absent,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    mem: ModelMem,
    /// Memory is counted for it (loaded, or loading with room made).
    reserved: bool,
    on_disk: bool,
    /// Requests for it waiting, queued or in service here.
    users: u32,
    prev: u32,
    next: u32,
    dprev: u32,
    dnext: u32,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            mem: ModelMem::Absent,
            reserved: false,
            on_disk: false,
            users: 0,
            prev: NIL,
            next: NIL,
            dprev: NIL,
            dnext: NIL,
        }
    }
}

/// An intrusive list's ends: `head` is the most recently used.
#[derive(Clone, Copy, Debug)]
struct Ends {
    head: u32,
    tail: u32,
}

impl Default for Ends {
    fn default() -> Self {
        Ends {
            head: NIL,
            tail: NIL,
        }
    }
}

/// Link accessors for one of the two lists.
trait Links {
    fn get(e: &Entry) -> (u32, u32);
    fn set(e: &mut Entry, prev: u32, next: u32);
}

struct MemList;
struct DiskList;

impl Links for MemList {
    fn get(e: &Entry) -> (u32, u32) {
        (e.prev, e.next)
    }
    fn set(e: &mut Entry, prev: u32, next: u32) {
        e.prev = prev;
        e.next = next;
    }
}

impl Links for DiskList {
    fn get(e: &Entry) -> (u32, u32) {
        (e.dprev, e.dnext)
    }
    fn set(e: &mut Entry, prev: u32, next: u32) {
        e.dprev = prev;
        e.dnext = next;
    }
}

fn unlink<L: Links>(entries: &mut [Entry], ends: &mut Ends, m: u32) {
    let (prev, next) = L::get(&entries[m as usize]);
    match prev {
        NIL => ends.head = next,
        p => {
            let (pp, _) = L::get(&entries[p as usize]);
            L::set(&mut entries[p as usize], pp, next);
        }
    }
    match next {
        NIL => ends.tail = prev,
        n => {
            let (_, nn) = L::get(&entries[n as usize]);
            L::set(&mut entries[n as usize], prev, nn);
        }
    }
    L::set(&mut entries[m as usize], NIL, NIL);
}

fn push_front<L: Links>(entries: &mut [Entry], ends: &mut Ends, m: u32) {
    let old = ends.head;
    L::set(&mut entries[m as usize], NIL, old);
    match old {
        NIL => ends.tail = m,
        o => {
            let (_, on) = L::get(&entries[o as usize]);
            L::set(&mut entries[o as usize], m, on);
        }
    }
    ends.head = m;
}

/// One instance's models in memory and on disk.
#[derive(Clone, Debug)]
pub struct ModelCache {
    entries: Vec<Entry>,
    mem: Ends,
    disk: Ends,
    mem_used: u64,
    disk_used: u64,
    loaded: u32,
}

impl ModelCache {
    /// An empty cache for `models` models.
    pub fn new(models: usize) -> Self {
        ModelCache {
            entries: vec![Entry::default(); models],
            mem: Ends::default(),
            disk: Ends::default(),
            mem_used: 0,
            disk_used: 0,
            loaded: 0,
        }
    }

    /// What a request for model `m` finds.
    #[inline]
    pub fn lookup(&self, m: u32) -> CacheLookup {
        match self.entries[m as usize].mem {
            ModelMem::Loaded => CacheLookup::Hit,
            ModelMem::Loading => CacheLookup::Loading,
            ModelMem::Absent => CacheLookup::Absent,
        }
    }

    /// Model `m` is loaded or being loaded here.
    #[inline]
    pub fn holds(&self, m: u32) -> bool {
        self.entries[m as usize].mem != ModelMem::Absent
    }

    /// Where model `m` stands in memory.
    pub fn mem_state(&self, m: u32) -> ModelMem {
        self.entries[m as usize].mem
    }

    /// Model `m`'s file is on disk.
    pub fn on_disk(&self, m: u32) -> bool {
        self.entries[m as usize].on_disk
    }

    /// Models loaded now (`LoadedModelCount` of this instance).
    pub fn loaded(&self) -> u32 {
        self.loaded
    }

    /// Memory counted for loaded and loading models, bytes.
    pub fn mem_used(&self) -> u64 {
        self.mem_used
    }

    /// Disk taken by model files, bytes.
    pub fn disk_used(&self) -> u64 {
        self.disk_used
    }

    /// A request for model `m` arrived here: one more user, and `m`
    /// becomes the most recently used.
    #[inline]
    pub fn acquire(&mut self, m: u32) {
        let e = &mut self.entries[m as usize];
        e.users += 1;
        if e.mem == ModelMem::Loaded {
            unlink::<MemList>(&mut self.entries, &mut self.mem, m);
            push_front::<MemList>(&mut self.entries, &mut self.mem, m);
        }
        if self.entries[m as usize].on_disk {
            unlink::<DiskList>(&mut self.entries, &mut self.disk, m);
            push_front::<DiskList>(&mut self.entries, &mut self.disk, m);
        }
    }

    /// A request for model `m` left: true when `m` has no user left.
    #[inline]
    pub fn release(&mut self, m: u32) -> bool {
        let e = &mut self.entries[m as usize];
        e.users -= 1;
        e.users == 0
    }

    /// Makes room in `capacity` bytes of memory for model `m` and counts
    /// it there, marking it loading: unloads the least recently used
    /// models with no user until it fits, and returns them. `None`, with
    /// nothing changed, when the models in use leave too little room.
    pub fn reserve(&mut self, m: u32, spec: &MultiModelSpec) -> Option<Vec<u32>> {
        let mut victims = Vec::new();
        self.reserve_into(m, spec, &mut victims).then_some(victims)
    }

    /// [`ModelCache::reserve`] into a buffer the caller keeps (no
    /// allocation per load): true, with the unloaded models in `victims`,
    /// if `m` now has its memory.
    pub fn reserve_into(&mut self, m: u32, spec: &MultiModelSpec, victims: &mut Vec<u32>) -> bool {
        victims.clear();
        let size = spec.models[m as usize].size_bytes;
        let need = (self.mem_used + size).saturating_sub(spec.memory_bytes);
        let mut freed = 0u64;
        let mut at = self.mem.tail;
        while freed < need && at != NIL {
            let e = &self.entries[at as usize];
            if e.users == 0 && at != m {
                victims.push(at);
                freed += spec.models[at as usize].size_bytes;
            }
            at = e.prev;
        }
        if freed < need {
            victims.clear();
            return false;
        }
        for &x in victims.iter() {
            unlink::<MemList>(&mut self.entries, &mut self.mem, x);
            let e = &mut self.entries[x as usize];
            e.mem = ModelMem::Absent;
            e.reserved = false;
            self.mem_used -= spec.models[x as usize].size_bytes;
            self.loaded -= 1;
        }
        let e = &mut self.entries[m as usize];
        e.mem = ModelMem::Loading;
        e.reserved = true;
        self.mem_used += size;
        true
    }

    /// Model `m` waits for memory to load: requests for it join the wait.
    pub fn wait_for_memory(&mut self, m: u32) {
        self.entries[m as usize].mem = ModelMem::Loading;
    }

    /// Puts model `m`'s file on a disk of `capacity` bytes, deleting the
    /// least recently used files of models not being loaded until it
    /// fits. Returns whether it must be downloaded (it was not on disk)
    /// and how many files were deleted.
    pub fn fetch(&mut self, m: u32, spec: &MultiModelSpec) -> (bool, u32) {
        if self.entries[m as usize].on_disk {
            unlink::<DiskList>(&mut self.entries, &mut self.disk, m);
            push_front::<DiskList>(&mut self.entries, &mut self.disk, m);
            return (false, 0);
        }
        let size = spec.models[m as usize].size_bytes;
        let mut deleted = 0;
        let mut at = self.disk.tail;
        while self.disk_used + size > spec.disk_bytes && at != NIL {
            let prev = self.entries[at as usize].dprev;
            if self.entries[at as usize].mem != ModelMem::Loading {
                unlink::<DiskList>(&mut self.entries, &mut self.disk, at);
                self.entries[at as usize].on_disk = false;
                self.disk_used -= spec.models[at as usize].size_bytes;
                deleted += 1;
            }
            at = prev;
        }
        self.entries[m as usize].on_disk = true;
        self.disk_used += size;
        push_front::<DiskList>(&mut self.entries, &mut self.disk, m);
        (true, deleted)
    }

    /// Model `m`'s load finished: it serves, most recently used.
    pub fn loaded_now(&mut self, m: u32) {
        self.entries[m as usize].mem = ModelMem::Loaded;
        self.loaded += 1;
        push_front::<MemList>(&mut self.entries, &mut self.mem, m);
    }

    /// Unloads the least recently used loaded model other than `keep`
    /// that no request is using, and returns it (`None`: every loaded
    /// model is in use). A real container said it is short of memory.
    pub fn unload_one(&mut self, keep: u32, spec: &MultiModelSpec) -> Option<u32> {
        let mut at = self.mem.tail;
        while at != NIL {
            let e = &self.entries[at as usize];
            if e.users == 0 && at != keep {
                break;
            }
            at = e.prev;
        }
        if at == NIL {
            return None;
        }
        self.forget(at, spec);
        Some(at)
    }

    /// Loaded model `m` is gone from memory (unloaded, or a real container
    /// said it does not have it); its file stays. Nothing happens if it
    /// was not loaded.
    pub fn forget(&mut self, m: u32, spec: &MultiModelSpec) {
        if self.entries[m as usize].mem != ModelMem::Loaded {
            return;
        }
        unlink::<MemList>(&mut self.entries, &mut self.mem, m);
        let e = &mut self.entries[m as usize];
        e.mem = ModelMem::Absent;
        e.reserved = false;
        self.mem_used -= spec.models[m as usize].size_bytes;
        self.loaded -= 1;
    }

    /// Model `m`'s load failed: its memory is given back (its file, if
    /// downloaded, stays).
    pub fn load_failed(&mut self, m: u32, spec: &MultiModelSpec) {
        let e = &mut self.entries[m as usize];
        e.mem = ModelMem::Absent;
        if std::mem::take(&mut e.reserved) {
            self.mem_used -= spec.models[m as usize].size_bytes;
        }
    }
}
