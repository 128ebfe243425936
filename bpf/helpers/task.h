/* SPDX-License-Identifier: GPL-2.0 */
/*
 * task.h - task identity (the task key, memoized on the open path) and the
 * task records: created at fork and exec, or lazily on first sight.
 */
#ifndef MIZAN_BPF_HELPERS_TASK_H
#define MIZAN_BPF_HELPERS_TASK_H

/* The identity of a process image: (tgid, start time, exec sequence). The
 * kernel bumps the leader's self_exec_id at every exec (begin_new_exec, before
 * the exec tracepoint runs), and an execing thread takes over the leader's
 * start time, so every image of a process has a key of its own: an exec
 * makes a new task record, and the records made by the image before it keep
 * naming that image. The low 32 bits of the sequence are enough (4e9 execs
 * of one process would take days). */
static __always_inline __u64 image_key(__u32 tgid, __u64 start, __u64 exec_id)
{
    return sip2(((__u64)(__u32)exec_id << 32) | tgid, start);
}

/* leader: a BTF pointer (the tp_btf programs' arguments, the current
 * task's): direct loads, no helper calls. */
static __always_inline __u64 task_key_of(struct task_struct *leader)
{
    return image_key(leader->tgid, leader->start_boottime, leader->self_exec_id);
}

/* The hot path's version: direct BTF loads instead of probe-read helpers. */
static __always_inline __u64 current_task_key(void)
{
    struct task_struct *t = bpf_get_current_task_btf();
    struct task_struct *l = t->group_leader;
    return image_key(l->tgid, l->start_boottime, l->self_exec_id);
}

/* The open path's version, for the current task t: the key is a function of
 * (tgid, start, exec sequence) only, so it is memoized per CPU in the
 * scratch (a process opening files in a loop hashes its identity once; an
 * exec changes the sequence, so the memo never outlives the image). The
 * entry is emptied before it is rewritten and marked valid last, so that a
 * program nesting in between never sees a half-written one. */
static __always_inline __u64 task_key_cached(struct scratch *s, struct task_struct *t)
{
    struct task_struct *l = t->group_leader;
    __u32 tgid = l->tgid;
    __u64 start = l->start_boottime;
    __u32 exec_id = (__u32)l->self_exec_id;
    volatile struct scratch *vs = s;
    if (tgid && vs->tk_tgid == tgid && vs->tk_start == start && vs->tk_exec == exec_id)
        return vs->tk_key;
    __u64 key = image_key(tgid, start, exec_id);
    vs->tk_tgid = 0;
    vs->tk_key = key;
    vs->tk_start = start;
    vs->tk_exec = exec_id;
    vs->tk_tgid = tgid;
    return key;
}

/* Reads the current process's command line into s->args and stores the
 * args record. Returns its key, 0 when unreadable; s->args_ring is 1 when
 * the record went to the overflow ring (see file_store). */
__noinline __u64 mz_args_store(struct scratch *s)
{
    if (!s)
        return 0;
    s->args_ring = 0;
    struct task_struct *t = bpf_get_current_task_btf();
    struct mm_struct *mm = BPF_CORE_READ(t, mm);
    if (!mm)
        return 0;
    __u64 start = BPF_CORE_READ(mm, arg_start);
    __u64 end = BPF_CORE_READ(mm, arg_end);
    if (end <= start)
        return 0;
    __u64 len = end - start;
    s->args.flags = 0;
    if (len > MZ_BPF_ARGS_MAX - 8) {
        len = MZ_BPF_ARGS_MAX - 8;
        s->args.flags = MZ_REC_TRUNCATED;
        count_truncated();
    }
    __u32 n = len & ARGS_MASK;
    if (n && bpf_probe_read_user(s->args.data, n, (void *)start) < 0) {
        /* A page past the first may not be present (probe reads do not
         * fault pages in): the first page's part, cut. */
        __u32 first = 4096 - (start & 4095);
        if (first < n) {
            n = first & ARGS_MASK;
            s->args.flags = MZ_REC_TRUNCATED;
            count_truncated();
        }
        if (!n || bpf_probe_read_user(s->args.data, n, (void *)start) < 0)
            n = 0;
    }
    if (!n) {
        count_read_error();
        COUNT_MAP(lost_read, MZ_MAP_ARGS);
        return 0;
    }
    s->args.len = n;
    __u64 key = mz_hash_args(&s->args);
    __u32 g = gen_now();
    int r;
    if (n <= MZ_BPF_ARGS_SMALL) {
        struct mz_args_small *e = bpf_map_lookup_elem(&args, &key);
        if (e) {
            if (e->gen != g)
                e->gen = g;
            return key;
        }
        s->args.gen = g;
        s->args.pad0 = 0;
        r = store_new(MZ_MAP_ARGS, &args, &key, sizeof(key), &s->args,
                      sizeof(struct mz_args_small));
        if (r == 0)
            count_created(MZ_MAP_ARGS, g);
    } else {
        struct mz_args_val *e = bpf_map_lookup_elem(&args_long, &key);
        if (e) {
            if (e->gen != g)
                e->gen = g;
            return key;
        }
        s->args.gen = g;
        s->args.pad0 = 0;
        r = store_new(MZ_MAP_ARGS_LONG, &args_long, &key, sizeof(key), &s->args,
                      sizeof(struct mz_args_val));
        if (r == 0)
            count_created(MZ_MAP_ARGS_LONG, g);
    }
    s->args_ring = r == 1;
    return key;
}

static __always_inline void task_fill_creds(struct task_struct *t, struct mz_task_val *v)
{
    const struct cred *rc = t->real_cred;
    v->uid = rc->uid.val;
    v->gid = rc->gid.val;
    v->euid = t->cred->euid.val;
}

static __always_inline __u64 task_cgroup(struct task_struct *t)
{
    return t->cgroups->dfl_cgrp->kn->id;
}

/* The executable of t, from its mm's exe_file: its path walked from the
 * dentry (mz_walk_path, to the root of the mount tree) and its identity in
 * v. Returns the file key or 0. */
static __always_inline __u64 exe_store(struct task_struct *t, struct scratch *s,
                                       struct mz_task_val *v)
{
    struct mm_struct *mm = t->mm;
    struct file *f = mm ? mm->exe_file : NULL;
    if (!f || path_of_file(f, s, 0) < 0)
        return 0;
    v->exe_ino = s->file_ino;
    v->exe_dev = s->file_dev;
    __u64 key = file_key_of(&s->file);
    file_store(key, &s->file);
    return key;
}

/* Fills a task record for the process whose leader is t (current or a fresh
 * child; a BTF pointer). */
static __always_inline void task_fill(struct task_struct *t, struct mz_task_val *v, __u32 gen)
{
    struct task_struct *rp = t->real_parent;
    struct task_struct *parent = rp ? rp->group_leader : NULL;
    v->parent_key = parent ? task_key_of(parent) : 0;
    v->start_ns = t->start_boottime;
    v->exec_ns = 0;
    v->exit_ns = 0;
    v->cgroup_id = task_cgroup(t);
    v->exe_key = 0;
    v->args_key = 0;
    v->tgid = t->tgid;
    v->ppid = rp ? rp->tgid : 0;
    task_fill_creds(t, v);
    v->gen = gen;
    v->created_gen = gen;
    v->flags = 0;
    bpf_probe_read_kernel_str(v->comm, sizeof(v->comm), t->comm);
    v->exe_ino = 0;
    v->exe_dev = 0;
    v->pad1 = 0;
    v->exe_seen_key = 0;
}

/* Inserts a new task record (or hands it to the overflow ring): see
 * store_new. */
static __always_inline int task_insert(__u64 key, struct mz_task_val *v)
{
    int r = store_new(MZ_MAP_TASKS, &tasks, &key, sizeof(key), v, sizeof(*v));
    if (r == 0)
        CREATED(MZ_MAP_TASKS, &tasks, &key, struct mz_task_val, v->created_gen);
    return r;
}

/* Makes sure the current process image has a task record (created lazily,
 * with its exe and command line, for processes that started before mizan). */
__noinline int mz_task_ensure(__u64 key, struct scratch *s)
{
    if (!s)
        return 0;
    volatile struct scratch *vs = s;
    if (key && vs->task_ok == key)
        return 0;
    if (bpf_map_lookup_elem(&tasks, &key)) {
        vs->task_ok = key;
        return 0;
    }
    struct task_struct *cur = bpf_get_current_task_btf();
    struct task_struct *t = cur->group_leader;
    struct mz_task_val *v = &s->task;
    task_fill(t, v, gen_now());
    v->flags = MZ_REC_LAZY;
    v->exe_key = exe_store(t, s, v);
    /* The command line now, once per image: /proc/PID/cmdline at scan time
     * may already belong to a later image (an exec) or be gone (an exit). */
    v->args_key = mz_args_store(s);
    int r = task_insert(key, v);
    if (r >= 0 || r == -17)
        vs->task_ok = key;
    return 0;
}

#endif
