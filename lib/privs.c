/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.c: see privs.h. No libcap: the raw capget/capset system calls are enough
 * here and keep the plugin and the helper's start-up light. */
#include "config.h"
#include "privs.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
# define PR_CAP_AMBIENT 47
# define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* The OCI runtime spec's default capability set (runc's defaults), kept with remap-root. */
static const int oci_default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,           CAP_MKNOD,      CAP_NET_RAW, CAP_SETGID,
  CAP_SETUID, CAP_SETFCAP,      CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,    CAP_AUDIT_WRITE,
};
#define N_DEFAULT_CAPS (sizeof (oci_default_caps) / sizeof (oci_default_caps[0]))

int
sp_privs_verify_unprivileged (sp_error_t *err)
{
  struct stat st;
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;

  if (getresuid (&ruid, &euid, &suid) < 0 || getresgid (&rgid, &egid, &sgid) < 0)
    return sp_error_make (err, errno, "cannot read process ids");
  if (ruid != euid || ruid != suid || rgid != egid || rgid != sgid)
    return sp_error_make (
      err, 0,
      "refusing to run with raised privileges: real and effective ids differ (sprout must not be setuid or setgid)");
  if (stat ("/proc/self/exe", &st) < 0)
    return sp_error_make (err, errno, "cannot stat /proc/self/exe");
  if (st.st_mode & (S_ISUID | S_ISGID))
    return sp_error_make (err, 0,
                          "refusing to run: the sprout binary is setuid or setgid; remove the bit (chmod u-s,g-s)");
  if (getxattr ("/proc/self/exe", "security.capability", NULL, 0) >= 0)
    return sp_error_make (err, 0, "refusing to run: the sprout binary has file capabilities; remove them (setcap -r)");
  if (errno != ENODATA && errno != ENOTSUP)
    return sp_error_make (err, errno, "cannot read the capabilities of /proc/self/exe");
  return 0;
}

static bool
cap_is_default (int c)
{
  for (size_t i = 0; i < N_DEFAULT_CAPS; i++)
    if (oci_default_caps[i] == c)
      return true;
  return false;
}

/* How many capabilities the kernel has (not the headers): the first number
 * PR_CAPBSET_READ rejects (binary search; capability sets are 64 bits). */
static int
n_capabilities (void)
{
  int lo = 0, hi = 64; /* lo valid (CAP_CHOWN), hi invalid */

  while (hi - lo > 1)
    {
      int mid = (lo + hi) / 2;
      if (prctl (PR_CAPBSET_READ, mid, 0, 0, 0) >= 0)
        lo = mid;
      else
        hi = mid;
    }
  return hi;
}

int
sp_privs_drop_for_exec (bool keep_default_set, sp_error_t *err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  int last;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sp_error_make (err, errno, "cannot set no_new_privs");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return sp_error_make (err, errno, "cannot clear ambient capabilities");
  /* The bounding set matters only where exec can grant capabilities: with remap-root
   * (uid 0 inside) it is cut to the default set. Without, the user is not root in the
   * namespace and no_new_privs ignores setuid bits and file capabilities, so a full
   * bounding set grants nothing (as for any process of the user on the host; a nested
   * user namespace starts with a full one anyway): the 41 prctl calls are left out.
   * Root itself (uid 0 mapped to itself) still gets the empty set. */
  last = !keep_default_set && getuid () != 0 ? 0 : n_capabilities ();
  for (int c = 0; c < last; c++)
    if (!(keep_default_set && cap_is_default (c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      {
        /* without CAP_SETPCAP (outside a user namespace) a non-root user with
         * no_new_privs cannot gain capabilities through exec anyway */
        if (errno == EPERM && !keep_default_set && getuid () != 0 && geteuid () != 0)
          break;
        return sp_error_make (err, errno, "cannot drop capability %d from the bounding set", c);
      }

  /* effective and permitted: nothing, or the default set; inheritable: nothing */
  memset (data, 0, sizeof (data));
  if (keep_default_set)
    for (size_t i = 0; i < N_DEFAULT_CAPS; i++)
      {
        unsigned c = (unsigned) oci_default_caps[i];
        data[c / 32].effective |= UINT32_C (1) << (c % 32);
        data[c / 32].permitted |= UINT32_C (1) << (c % 32);
      }
  if (syscall (SYS_capset, &hdr, data) < 0)
    {
      struct __user_cap_data_struct cur[_LINUX_CAPABILITY_U32S_3];
      /* keeping what we do not have fails: keep the intersection instead */
      if (errno != EPERM || syscall (SYS_capget, &hdr, cur) < 0)
        return sp_error_make (err, errno, "cannot set capabilities");
      for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        {
          data[i].permitted &= cur[i].permitted;
          data[i].effective &= cur[i].permitted;
        }
      if (syscall (SYS_capset, &hdr, data) < 0)
        return sp_error_make (err, errno, "cannot set capabilities");
    }
  return 0;
}
