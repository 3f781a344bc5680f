/* SPDX-License-Identifier: BSD-2-Clause */
/* The TSM's one lock: calls on different harts are serialized by it. */
#ifndef TSM_LOCK_H
#define TSM_LOCK_H

typedef struct {
	volatile int locked;
} tsm_lock_t;

static inline void tsm_lock(tsm_lock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			;
}

static inline void tsm_unlock(tsm_lock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

extern tsm_lock_t tsm_big_lock;

#endif
