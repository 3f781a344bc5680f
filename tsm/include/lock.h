/* SPDX-License-Identifier: BSD-2-Clause */
/* The TSM's one lock: calls on different harts are serialized by it. */
#ifndef TSM_LOCK_H
#define TSM_LOCK_H

#include <stdbool.h>

/* owner: 0 when free, else the holding hart's ID + 1 */
typedef struct {
	unsigned long owner;
} tsm_lock_t;

static inline void tsm_lock(tsm_lock_t *l, unsigned long hartid)
{
	unsigned long free;

	for (;;) {
		free = 0;
		if (__atomic_compare_exchange_n(&l->owner, &free, hartid + 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		while (__atomic_load_n(&l->owner, __ATOMIC_RELAXED))
			;
	}
}

static inline void tsm_unlock(tsm_lock_t *l)
{
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELEASE);
}

/* Releases the lock only if @hartid holds it (a fault's way out). */
static inline void tsm_unlock_if_held(tsm_lock_t *l, unsigned long hartid)
{
	unsigned long mine = hartid + 1;

	__atomic_compare_exchange_n(&l->owner, &mine, 0, false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

extern tsm_lock_t tsm_big_lock;

#endif
