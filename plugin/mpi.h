/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mpi.h: what a step's MPI library needs from the host inside the container. */
#ifndef SPROUT_MPI_H
#define SPROUT_MPI_H

#include <sys/types.h>
#include <slurm/spank.h>

#include "error.h"

/* In remote user_init (after Slurm's mpi plugin set up the step): append to the
 * NULL-terminated *mounts a "DIR:DIR:rw" entry for each host directory Slurm's
 * mpi/pmix server shares with its clients (its rendezvous and shared-memory
 * directory in the slurmd spool, the job's client directory under TmpFS), so the
 * image's PMIx reaches the server at the paths the task environment names.
 * Steps without PMIx add nothing. 0, or -1 with err. */
int sp_mpi_mounts (spank_t sp, uid_t uid, const char *node, char ***mounts, sp_error_t *err);

#endif
