//go:build cgo && !noonednn

// Package cpu is the fast CPU backend. It holds two kinds of kernels
// behind the one backend.Ops interface:
//   - oneDNN 2.x primitives (Debian libdnnl-dev) through cgo (onednn.go,
//     glue.c): convolutions, batch norm, pooling, linear layers;
//   - our own AVX-512 kernels where they measure faster than oneDNN's
//     (conv16.c: the 16-channel stage-1 convolutions of the CIFAR nets,
//     direct and Winograd, the backward-data one with the residual block's
//     input-gradient add and ReLU mask fused in; bnadd.c: training-mode
//     batch norm, alone, with its ReLU, or fused with the shortcut add and
//     the block's final ReLU).
//
// It records itself as backend "onednn" (Name), the name the committed
// results databases and exact-resume records have always used, and
// `--backend onednn` selects it.
//
// Activations are kept in oneDNN's blocked layout nChw16c from the
// model's input to its global average pooling (see package backend's
// layout contract), so convolutions, batch norm and pooling run on the
// layout their JIT kernels want and no reorder surrounds them. Parameters
// stay plain; conv weights are reordered to the primitive's blocked layout
// on each call (a few hundred KB at most per layer).
//
// Every operation is planned once: NewConv creates the forward,
// backward-data and backward-weights primitives, their memory descriptors,
// reorder primitives and internal buffers; all scratchpads are user-managed
// and share one buffer per Backend sized at plan time. Buffers are
// allocated in C (aligned, touched once at plan time) so the Go GC never
// sees or returns them. A call binds the caller's slices and executes;
// nothing is allocated.
//
// Threads: Debian's libdnnl 2.6 is built with DNNL_CPU_RUNTIME=OMP (the
// .so links libgomp.so.1; dnnl_config.h says DNNL_RUNTIME_OMP). libgomp
// keeps the team size (nthreads-var) per OS thread once written, and Go may
// run cgo calls on any OS thread, so every C entry point calls
// omp_set_num_threads(Threads()) first when the calling thread's value
// differs (TestThreadsGovernTeamSize checks it on fresh OS threads). Plans
// are created under the same setting, since oneDNN sizes its work split at
// creation. OMP_NUM_THREADS in the environment is thereby overridden;
// libgomp's idle workers still spin briefly after each op (GOMP_SPINCOUNT /
// OMP_WAIT_POLICY, read at process start, govern that).
//
// For speed, call a Backend from one OS thread (runtime.LockOSThread in the
// goroutine that runs the steps; cmd/repro pins its main goroutine, and
// reproduce.Env.RunSpecs pins itself). libgomp gives every calling OS
// thread its own worker team, so a goroutine that Go moves between OS
// threads leaves teams behind whose workers spin on the cores the current
// team needs: `top -H` showed three busy threads on two cores, and
// pinning made resnet-20 training 12% and resnet-56 10% faster (medians of
// 8 and 4 interleaved `repro bench` rounds) and far less noisy.
//
// The C side binds the caller's slices to oneDNN memory objects at each
// call; a bound pointer is never used after the call returns (it is
// rebound on the next call), and the Go heap does not move objects.
//
// Build with -tags noonednn (or CGO_ENABLED=0) to leave this backend out;
// engine/backend/choose then falls back to the reference.
package cpu
