/*
 * Shared by the libFuzzer targets in tests/fuzz and by the unit test that
 * replays their corpora (tests/unit/test_fuzz_replay.c). Each target is a
 * function fuzz_<name>() that returns normally on any input and aborts
 * when an invariant of the code under test is broken; built as a fuzz
 * target it is also LLVMFuzzerTestOneInput, built with -DFUZZ_REPLAY it
 * is a plain function.
 */
#ifndef P2P_FUZZ_H
#define P2P_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int	fuzz_frame(const uint8_t *, size_t);
int	fuzz_ctl(const uint8_t *, size_t);
int	fuzz_config(const uint8_t *, size_t);
int	fuzz_valid(const uint8_t *, size_t);
int	fuzz_hot(const uint8_t *, size_t);

#ifdef FUZZ_REPLAY
#define FUZZ_ENTRY(fn)
#else
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
#define FUZZ_ENTRY(fn)							\
int									\
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)		\
{									\
	return fn(data, size);						\
}
#endif

#endif
