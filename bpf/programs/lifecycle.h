/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lifecycle.h - process lifecycle: fork, exec, exit.
 */
#ifndef MIZAN_BPF_PROGRAMS_LIFECYCLE_H
#define MIZAN_BPF_PROGRAMS_LIFECYCLE_H

/* The three are BTF tracepoints: their task arguments (and the current
 * task) are BTF pointers, read with direct loads rather than a helper call
 * per field. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(mz_fork, struct task_struct *parent, struct task_struct *child)
{
    if (child->pid != child->tgid)
        return 0; /* a thread */
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    struct mz_task_val *v = &s->task;
    task_fill(child, v, gen);
    /* The child runs the parent's image until it execs. */
    __u64 pkey = task_key_of(parent->group_leader);
    struct mz_task_val *pv = bpf_map_lookup_elem(&tasks, &pkey);
    if (pv) {
        v->exe_key = pv->exe_key;
        v->args_key = pv->args_key;
        v->exe_ino = pv->exe_ino;
        v->exe_dev = pv->exe_dev;
        v->exe_seen_key = pv->exe_seen_key;
    }
    __u64 key = task_key_of(child);
    task_insert(key, v);
    return 0;
}

/* Whether two paths are equal: the same namespace and the first len bytes
 * (len: a's and b's). */
__noinline int mz_path_eq(struct mz_file_val *a, struct mz_file_val *b)
{
    if (!a || !b || a->len != b->len || a->mnt_ns != b->mnt_ns)
        return 0;
    __u32 len = a->len;
    if (len > MZ_BPF_PATH_MAX - 1)
        return 0;
    __u32 words = len / 8, i;
    for (i = 0; i < MZ_BPF_PATH_MAX / 8; i++) {
        if (i >= words)
            break;
        __u32 o = (i * 8) & (MZ_BPF_PATH_MAX - 8);
        if (*(__u64 *)&a->path[o] != *(__u64 *)&b->path[o])
            return 0;
    }
    __u32 rem = len & 7;
    if (rem) {
        __u32 o = (words * 8) & (MZ_BPF_PATH_MAX - 8);
        __u64 m = (1ULL << (rem * 8)) - 1;
        if ((*(__u64 *)&a->path[o] & m) != (*(__u64 *)&b->path[o] & m))
            return 0;
    }
    return 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mz_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    __u64 now = bpf_ktime_get_boot_ns();
    struct task_struct *t = p->group_leader;
    __u32 tgid = t->tgid;
    __u64 start = t->start_boottime;
    __u64 exec_id = t->self_exec_id;
    __u64 key = image_key(tgid, start, exec_id);

    /* The executable, as its other files are named: its path walked from
     * the file's dentry up to the root of the mount tree (a chrooted
     * process's exe gets its global path), and its identity. ring: a string
     * record went to the overflow ring, so the exec record goes there too,
     * behind it (see file_store). */
    bool ring = false;
    __u64 exe_key = 0, seen_key = 0, exe_ino = 0;
    __u32 exe_dev = 0, trunc = 0;
    if (path_of_file(bprm->file, s, 0) == 0) {
        exe_ino = s->file_ino;
        exe_dev = s->file_dev;
        trunc = s->file.flags & MZ_REC_TRUNCATED;
        exe_key = mz_hash_path(&s->file);
        ring = file_store(exe_key, &s->file) == 1;
        /* The name it was run by, when absolute and another path: the
         * path seen from a chroot, a symlink's, /dev/fd/N (fexecve). */
        long n = bpf_probe_read_kernel_str(s->file2.path, MZ_BPF_PATH_MAX, bprm->filename);
        if (n > 1 && s->file2.path[0] == '/') {
            s->file2.len = n - 1;
            s->file2.flags = n == MZ_BPF_PATH_MAX ? MZ_REC_TRUNCATED : 0;
            s->file2.mnt_ns = task_mnt_ns();
            if (!mz_path_eq(&s->file, &s->file2)) {
                seen_key = mz_hash_path(&s->file2);
                if (file_store(seen_key, &s->file2) == 1)
                    ring = true;
            }
        }
    } else {
        s->file.len = 0;
    }
    __u64 args_key = mz_args_store(s);
    if (s->args_ring)
        ring = true;

    /* The working directory, for the command line's relative paths. */
    __u64 cwd_key = 0;
    /* (probe reads: a global function takes numbers, not BTF pointers) */
    struct dentry *pwd = BPF_CORE_READ(t, fs, pwd.dentry);
    struct vfsmount *pwdmnt = BPF_CORE_READ(t, fs, pwd.mnt);
    if (mz_walk_path((__u64)pwd, (__u64)pwdmnt, s, 1) == 0) {
        cwd_key = mz_hash_path(&s->file2);
        if (file_store(cwd_key, &s->file2) == 1)
            ring = true;
    }

    /* The image this exec replaced keeps its record, closed: what it did is
     * still charged to it (an exec must not rewrite history). The new image
     * gets a record of its own, with the parent the process had. */
    __u64 old_key = image_key(tgid, start, exec_id - 1);
    __u64 parent_key = 0;
    struct mz_task_val *ov = bpf_map_lookup_elem(&tasks, &old_key);
    if (ov) {
        parent_key = ov->parent_key;
        ov->exit_ns = now;
        ov->flags |= MZ_REC_REPLACED;
        ov->gen = gen_now();
    }
    /* The new image's record, in the scratch: the exec record is made from
     * it. */
    struct mz_task_val *v = &s->task;
    task_fill(t, v, gen);
    if (parent_key)
        v->parent_key = parent_key;
    v->exe_key = exe_key;
    v->args_key = args_key;
    v->exec_ns = now;
    v->flags = MZ_REC_EXECED;
    v->exe_ino = exe_ino;
    v->exe_dev = exe_dev;
    v->exe_seen_key = seen_key;
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        /* made lazily between the exec and this tracepoint */
        tv->exe_key = exe_key;
        tv->args_key = args_key;
        tv->exec_ns = now;
        tv->flags |= MZ_REC_EXECED;
        tv->uid = v->uid;
        tv->gid = v->gid;
        tv->euid = v->euid;
        __builtin_memcpy(tv->comm, v->comm, sizeof(tv->comm));
        tv->exe_ino = exe_ino;
        tv->exe_dev = exe_dev;
        tv->exe_seen_key = seen_key;
        tv->gen = gen_now();
        s->task_ok = key;
    } else {
        int r = task_insert(key, v);
        if (r >= 0 || r == -17)
            s->task_ok = key;
    }

    /* One exec record per exec. */
    struct mz_exec_key ek = {.task_key = key, .exec_ns = now};
    struct mz_exec_val *e = &s->exec;
    e->parent_key = v->parent_key;
    e->start_ns = v->start_ns;
    e->cgroup_id = v->cgroup_id;
    e->exe_key = exe_key;
    e->args_key = args_key;
    e->cwd_key = cwd_key;
    e->tgid = v->tgid;
    e->ppid = v->ppid;
    e->uid = v->uid;
    e->gid = v->gid;
    e->euid = v->euid;
    e->gen = gen;
    e->created_gen = gen;
    e->flags = trunc;
    __builtin_memcpy(e->comm, v->comm, sizeof(e->comm));
    e->exe_ino = exe_ino;
    e->exe_dev = exe_dev;
    e->pad1 = 0;
    e->exe_seen_key = seen_key;
    if (ring)
        overflow_out(MZ_MAP_EXECS, &ek, sizeof(ek), e, sizeof(*e));
    else if (store_new(MZ_MAP_EXECS, &execs, &ek, sizeof(ek), e, sizeof(*e)) == 0)
        CREATED(MZ_MAP_EXECS, &execs, &ek, struct mz_exec_val, gen);

    /* The exec is also a file action on the executable (s->file and its
     * identity are still the exe's). */
    if (exe_key)
        mz_record_link(s, MZ_FA_EXECVE, 0);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mz_exit, struct task_struct *p)
{
    if (p->pid != p->tgid)
        return 0;
    __u64 key = task_key_of(p);
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        tv->exit_ns = bpf_ktime_get_boot_ns();
        tv->flags |= MZ_REC_EXITED;
        tv->gen = gen_now();
    }
    return 0;
}

#endif
