/* container.c: the container runtime (see container.h). Placeholder. */
#include "config.h"
#include "container.h"
