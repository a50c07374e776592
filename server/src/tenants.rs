//! Fair shares of the listener between local users ("tenants", one per UID): how many
//! connections each may hold, and how much of the memory budget for request and response bodies
//! each may use, on top of the global caps.
//!
//! The UID comes from `SO_PEERCRED` at accept, before a byte is read, so a user cannot escape
//! its share by sending nothing or by sending slowly: partial and stalled requests hold their
//! memory against their own UID's share and time out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Memory is accounted in units of this many bytes (semaphore permits are counts).
const UNIT: usize = 1024;

fn units(bytes: usize) -> usize {
    bytes.div_ceil(UNIT)
}

/// Why a connection or a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error("the connection limit of {0} is reached")]
    TooManyConnections(usize),
    #[error("this user's connection limit of {0} is reached")]
    TooManyConnectionsForUid(usize),
    #[error("{requested} bytes exceed what one user may hold at once ({limit} bytes)")]
    TooLarge { requested: usize, limit: usize },
    #[error("the memory budget stayed exhausted for the whole wait")]
    Exhausted,
}

/// The shared state: all tenants, the global connection cap and the memory budget.
#[derive(Debug)]
pub struct Tenants {
    tenants: Mutex<HashMap<u32, Arc<Tenant>>>,
    connections: Arc<Semaphore>,
    max_connections: usize,
    max_per_uid: usize,
    memory: Arc<Semaphore>,
    memory_per_uid: usize,
    memory_total: usize,
}

/// One UID's share.
#[derive(Debug)]
pub struct Tenant {
    uid: u32,
    connections: Mutex<usize>,
    memory: Arc<Semaphore>,
}

impl Tenant {
    /// The UID this share belongs to.
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

/// A held connection slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    tenants: Arc<Tenants>,
    tenant: Arc<Tenant>,
    _global: OwnedSemaphorePermit,
}

impl ConnectionSlot {
    /// The connection's tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut tenants = self
            .tenants
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut count = self
            .tenant
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        // A tenant without connections holds no memory either (reservations live inside
        // connections), so its entry can go: the map stays as small as the active users.
        if *count == 0 {
            tenants.remove(&self.tenant.uid);
        }
    }
}

/// Bytes of the memory budget held for one request's body or reply; released on drop.
#[derive(Debug)]
pub struct Reservation {
    global: Option<OwnedSemaphorePermit>,
    tenant: Option<OwnedSemaphorePermit>,
    budget: Arc<Tenants>,
    owner: Arc<Tenant>,
}

impl Reservation {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.global.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }

    /// Holds `more` bytes on top of what is held, waiting up to `wait` for them.
    pub async fn grow(&mut self, more: usize, wait: Duration) -> Result<(), ShareError> {
        let extra = self.budget.acquire(&self.owner, units(more), wait).await?;
        let (global, tenant) = extra.into_parts();
        merge(&mut self.global, global);
        merge(&mut self.tenant, tenant);
        Ok(())
    }

    /// Keeps only what `bytes` needs and gives the rest back.
    pub fn shrink_to(&mut self, bytes: usize) {
        let keep = units(bytes);
        for permit in [&mut self.global, &mut self.tenant].into_iter().flatten() {
            let held = permit.num_permits();
            if held > keep {
                drop(permit.split(held - keep));
            }
        }
    }

    fn into_parts(mut self) -> (Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>) {
        (self.global.take(), self.tenant.take())
    }
}

fn merge(into: &mut Option<OwnedSemaphorePermit>, other: Option<OwnedSemaphorePermit>) {
    match (into.as_mut(), other) {
        (Some(held), Some(other)) => held.merge(other),
        (None, other) => *into = other,
        (Some(_), None) => {}
    }
}

impl Tenants {
    /// Shares for `max_connections` connections (`max_per_uid` each) and a memory budget of
    /// `memory_total` bytes (`memory_per_uid` each).
    pub fn new(
        max_connections: usize,
        max_per_uid: usize,
        memory_total: usize,
        memory_per_uid: usize,
    ) -> Arc<Tenants> {
        Arc::new(Tenants {
            tenants: Mutex::new(HashMap::new()),
            connections: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            max_per_uid,
            memory: Arc::new(Semaphore::new(units(memory_total))),
            memory_per_uid: units(memory_per_uid),
            memory_total: units(memory_total),
        })
    }

    /// Takes a connection slot for `uid`, or says which limit is reached.
    pub fn connect(self: &Arc<Self>, uid: u32) -> Result<ConnectionSlot, ShareError> {
        let global = self
            .connections
            .clone()
            .try_acquire_owned()
            .map_err(|_| ShareError::TooManyConnections(self.max_connections))?;
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let tenant = tenants
            .entry(uid)
            .or_insert_with(|| {
                Arc::new(Tenant {
                    uid,
                    connections: Mutex::new(0),
                    memory: Arc::new(Semaphore::new(self.memory_per_uid)),
                })
            })
            .clone();
        let mut count = tenant
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *count >= self.max_per_uid {
            return Err(ShareError::TooManyConnectionsForUid(self.max_per_uid));
        }
        *count += 1;
        drop(count);
        Ok(ConnectionSlot {
            tenants: self.clone(),
            tenant,
            _global: global,
        })
    }

    /// Reserves `bytes` for `tenant`, waiting up to `wait` while the budget is in use. A
    /// request larger than a tenant's whole share is refused at once, never waited for.
    pub async fn reserve(
        self: &Arc<Self>,
        tenant: &Arc<Tenant>,
        bytes: usize,
        wait: Duration,
    ) -> Result<Reservation, ShareError> {
        self.acquire(tenant, units(bytes), wait).await
    }

    async fn acquire(
        self: &Arc<Self>,
        tenant: &Arc<Tenant>,
        units: usize,
        wait: Duration,
    ) -> Result<Reservation, ShareError> {
        let empty = Reservation {
            global: None,
            tenant: None,
            budget: self.clone(),
            owner: tenant.clone(),
        };
        if units == 0 {
            return Ok(empty);
        }
        let limit = self.memory_per_uid.min(self.memory_total);
        let count =
            u32::try_from(units)
                .ok()
                .filter(|_| units <= limit)
                .ok_or(ShareError::TooLarge {
                    requested: units * UNIT,
                    limit: limit * UNIT,
                })?;
        // The tenant's own share first: a user waiting on its own share does not hold global
        // memory meanwhile.
        let acquired = tokio::time::timeout(wait, async {
            let own = tenant.memory.clone().acquire_many_owned(count).await;
            let global = self.memory.clone().acquire_many_owned(count).await;
            (own, global)
        })
        .await;
        match acquired {
            Ok((Ok(own), Ok(global))) => Ok(Reservation {
                global: Some(global),
                tenant: Some(own),
                ..empty
            }),
            _ => Err(ShareError::Exhausted),
        }
    }

    /// Bytes of the global budget currently held (for metrics and tests).
    pub fn memory_in_use(&self) -> usize {
        (self.memory_total - self.memory.available_permits()) * UNIT
    }

    /// Connections currently open.
    pub fn connections_in_use(&self) -> usize {
        self.max_connections - self.connections.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_caps_are_global_and_per_uid() {
        let tenants = Tenants::new(3, 2, 1 << 20, 1 << 19);
        let a1 = tenants.connect(1000).expect("first");
        let _a2 = tenants.connect(1000).expect("second");
        assert_eq!(
            tenants.connect(1000).expect_err("third of one uid"),
            ShareError::TooManyConnectionsForUid(2)
        );
        let _b1 = tenants.connect(1001).expect("another uid");
        assert_eq!(
            tenants.connect(1002).expect_err("global cap"),
            ShareError::TooManyConnections(3)
        );
        drop(a1);
        let _a3 = tenants.connect(1000).expect("a slot came back");
        assert_eq!(tenants.connections_in_use(), 3);
    }

    #[test]
    fn idle_tenants_are_forgotten() {
        let tenants = Tenants::new(10, 10, 1 << 20, 1 << 20);
        let slot = tenants.connect(7).expect("slot");
        assert_eq!(tenants.tenants.lock().expect("lock").len(), 1);
        drop(slot);
        assert!(tenants.tenants.lock().expect("lock").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_shared_and_bounded() {
        let tenants = Tenants::new(10, 10, 64 * 1024, 32 * 1024);
        let alice = tenants.connect(1).expect("alice");
        let bob = tenants.connect(2).expect("bob");
        let wait = Duration::from_millis(100);
        let mut held = tenants
            .reserve(alice.tenant(), 20 * 1024, wait)
            .await
            .expect("fits");
        assert_eq!(held.bytes(), 20 * 1024);
        // Alice cannot take more than her share, however long she waits...
        assert_eq!(
            held.grow(20 * 1024, wait)
                .await
                .expect_err("over her share"),
            ShareError::Exhausted
        );
        // ...and a request bigger than a whole share is refused without waiting.
        assert!(matches!(
            tenants.reserve(bob.tenant(), 40 * 1024, wait).await,
            Err(ShareError::TooLarge { .. })
        ));
        // Bob still gets his share.
        let bobs = tenants
            .reserve(bob.tenant(), 30 * 1024, wait)
            .await
            .expect("bob's share");
        assert_eq!(tenants.memory_in_use(), 50 * 1024);
        held.shrink_to(1);
        assert_eq!(held.bytes(), 1024);
        drop(bobs);
        drop(held);
        assert_eq!(tenants.memory_in_use(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_reservation_gets_memory_when_it_is_freed() {
        let tenants = Tenants::new(10, 10, 32 * 1024, 32 * 1024);
        let alice = tenants.connect(1).expect("alice");
        let bob = tenants.connect(2).expect("bob");
        let first = tenants
            .reserve(alice.tenant(), 32 * 1024, Duration::from_secs(1))
            .await
            .expect("all of it");
        let waiter = {
            let tenants = tenants.clone();
            let bob = bob.tenant().clone();
            tokio::spawn(async move {
                tenants
                    .reserve(&bob, 8 * 1024, Duration::from_secs(5))
                    .await
                    .map(|r| r.bytes())
            })
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(first);
        assert_eq!(waiter.await.expect("task"), Ok(8 * 1024));
    }
}
