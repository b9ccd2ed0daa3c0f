package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-health/vigil/internal/enum"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// TaskStatus is where a task is.
type TaskStatus string

const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in-progress"
	TaskDone       TaskStatus = "done"
	TaskCancelled  TaskStatus = "cancelled"
)

// TaskStatuses lists the task statuses.
func TaskStatuses() []TaskStatus { return taskStatuses.Values() }

var taskStatuses = enum.Of(TaskOpen, TaskInProgress, TaskDone, TaskCancelled)

// Task is a piece of work in a case, with a checklist and a log.
type Task struct {
	ID          string          `json:"id"`
	CaseID      string          `json:"case_id"`
	Title       string          `json:"title"`
	Description string          `json:"description,omitempty"`
	Status      TaskStatus      `json:"status"`
	Assignee    string          `json:"assignee,omitempty"`
	Checklist   []ChecklistItem `json:"checklist"`
	Position    int             `json:"position"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	DoneAt      *time.Time      `json:"done_at,omitempty"`
	// Logs are filled by ListTasks.
	Logs []TaskLog `json:"logs,omitempty"`
}

// ChecklistItem is one step of a task.
type ChecklistItem struct {
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// TaskLog is one entry of a task's work log (Markdown).
type TaskLog struct {
	ID       string    `json:"id"`
	Body     string    `json:"body"`
	BodyHTML string    `json:"body_html"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// NewTask is a task to add.
type NewTask struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Assignee    string   `json:"assignee,omitempty"`
	Checklist   []string `json:"checklist,omitempty"`
}

// TaskPatch changes a task; nil fields are left alone. Checklist replaces
// the whole list; Check ticks (or unticks) items by position.
type TaskPatch struct {
	Title       *string          `json:"title,omitempty"`
	Description *string          `json:"description,omitempty"`
	Status      *TaskStatus      `json:"status,omitempty"`
	Assignee    *string          `json:"assignee,omitempty"`
	Checklist   *[]ChecklistItem `json:"checklist,omitempty"`
	Check       map[string]bool  `json:"check,omitempty"`
}

const maxChecklist = 100

const taskCols = `id, case_id, title, description, status, assignee, checklist, position, created_at, updated_at, done_at`

func scanTask(r scanner) (Task, error) {
	var t Task
	var list, created, updated, done string
	err := r.Scan(&t.ID, &t.CaseID, &t.Title, &t.Description, &t.Status, &t.Assignee, &list, &t.Position, &created, &updated, &done)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(list), &t.Checklist); err != nil {
		return t, fmt.Errorf("task %s checklist: %w", t.ID, err)
	}
	t.CreatedAt, t.UpdatedAt, t.DoneAt = parseTS(created), parseTS(updated), optTS(done)
	return t, nil
}

func (t *Task) check() error {
	if err := checkName("title", t.Title, true, maxTitle); err != nil {
		return err
	}
	if err := checkText("description", t.Description, maxShortText); err != nil {
		return err
	}
	if len(t.Checklist) > maxChecklist {
		return fault.Invalidf("checklist", "has %d items; at most %d", len(t.Checklist), maxChecklist)
	}
	for i, c := range t.Checklist {
		if err := checkName(fmt.Sprintf("checklist[%d].text", i), c.Text, true, maxTitle); err != nil {
			return err
		}
	}
	return oneOf("status", t.Status, TaskStatuses())
}

func writeTask(ctx context.Context, tx *store.Tx, t *Task, insert bool) error {
	list, _ := json.Marshal(t.Checklist)
	done := ""
	if t.DoneAt != nil {
		done = ts(*t.DoneAt)
	}
	args := []any{t.CaseID, t.Title, t.Description, string(t.Status), t.Assignee, string(list), t.Position, ts(t.CreatedAt), ts(t.UpdatedAt), done, t.ID}
	q := `UPDATE case_tasks SET case_id = ?, title = ?, description = ?, status = ?, assignee = ?, checklist = ?, position = ?,
		created_at = ?, updated_at = ?, done_at = ? WHERE id = ?`
	if insert {
		q = `INSERT INTO case_tasks (case_id, title, description, status, assignee, checklist, position, created_at, updated_at, done_at, id)
			VALUES (` + store.Placeholders(11) + `)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("cases: write task %s: %w", t.ID, err)
	}
	return nil
}

// insertTask adds a task at position (appending when position < 0).
func (s *Service) insertTask(ctx context.Context, tx *store.Tx, caseID string, n NewTask, position int) (Task, error) {
	now := s.now()
	t := Task{ID: newID(prefixTask, now), CaseID: caseID, Title: strings.TrimSpace(n.Title), Description: n.Description,
		Status: TaskOpen, Checklist: []ChecklistItem{}, CreatedAt: now, UpdatedAt: now, Assignee: n.Assignee}
	for _, c := range n.Checklist {
		t.Checklist = append(t.Checklist, ChecklistItem{Text: strings.TrimSpace(c)})
	}
	if position < 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), -1) + 1 FROM case_tasks WHERE case_id = ?`, caseID).Scan(&position); err != nil {
			return Task{}, fmt.Errorf("cases: task position: %w", err)
		}
	}
	t.Position = position
	if err := t.check(); err != nil {
		return Task{}, err
	}
	return t, writeTask(ctx, tx, &t, true)
}

func (s *Service) tasks(ctx context.Context, q store.Queryer, caseID string) ([]Task, error) {
	out, err := queryAll(ctx, q, `SELECT `+taskCols+` FROM case_tasks WHERE case_id = ? ORDER BY position, id`, scanTask, caseID)
	if out == nil && err == nil {
		out = []Task{}
	}
	return out, err
}

// ListTasks returns the tasks of a case sc may read, each with its log.
func (s *Service) ListTasks(ctx context.Context, sc scope.Scope, caseID string) ([]Task, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	list, err := s.tasks(ctx, q, caseID)
	if err != nil {
		return nil, err
	}
	logs, err := queryAll(ctx, q, `SELECT task_id, id, body, by_name, at FROM case_task_logs WHERE case_id = ? ORDER BY id`,
		func(r scanner) (struct {
			task string
			log  TaskLog
		}, error) {
			var x struct {
				task string
				log  TaskLog
			}
			var at string
			err := r.Scan(&x.task, &x.log.ID, &x.log.Body, &x.log.By, &at)
			x.log.At = parseTS(at)
			x.log.BodyHTML = RenderMarkdown(x.log.Body)
			return x, err
		}, caseID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		for _, l := range logs {
			if l.task == list[i].ID {
				list[i].Logs = append(list[i].Logs, l.log)
			}
		}
	}
	return list, nil
}

// CreateTask adds a task to an open case sc may change.
func (s *Service) CreateTask(ctx context.Context, sc scope.Scope, caseID string, n NewTask) (Task, error) {
	var out Task
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		if c.Status == CaseClosed {
			return fault.Invalidf("status", "case %s is closed: reopen it first", c.ID)
		}
		a, err := s.assignee(ctx, sc, n.Assignee, c.Org, path)
		if err != nil {
			return err
		}
		n.Assignee = a
		t, err := s.insertTask(ctx, tx, c.ID, n, -1)
		if err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "task.added", title: "Task added: " + t.Title, ref: t.ID}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.task.create", ObjectType: "task", ObjectID: t.ID, Org: c.Org, After: t}); err != nil {
			return err
		}
		out = t
		return touch(ctx, tx, c, s.now())
	})
	return out, err
}

// loadTask reads task id of case c inside tx; not found unless it is c's.
func loadTask(ctx context.Context, tx *store.Tx, c *Case, id string) (Task, error) {
	if !validID(prefixTask, id) {
		return Task{}, notFound("task", id)
	}
	t, err := scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM case_tasks WHERE id = ? AND case_id = ?`, id, c.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, notFound("task", id)
	}
	return t, err
}

// UpdateTask changes a task of a case sc may change.
func (s *Service) UpdateTask(ctx context.Context, sc scope.Scope, caseID, taskID string, p TaskPatch) (Task, error) {
	var out Task
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		t, err := loadTask(ctx, tx, c, taskID)
		if err != nil {
			return err
		}
		if c.Status == CaseClosed {
			return fault.Invalidf("status", "case %s is closed: reopen it first", c.ID)
		}
		before := t
		now := s.now()
		if p.Title != nil {
			t.Title = strings.TrimSpace(*p.Title)
		}
		if p.Description != nil {
			t.Description = *p.Description
		}
		if p.Status != nil {
			t.Status = *p.Status
		}
		if p.Checklist != nil {
			t.Checklist = append([]ChecklistItem{}, *p.Checklist...)
		}
		for k, done := range p.Check {
			var i int
			if _, err := fmt.Sscanf(k, "%d", &i); err != nil || fmt.Sprint(i) != k || i < 0 || i >= len(t.Checklist) {
				return fault.Invalidf("check."+k, "is not an item of the checklist (0 to %d)", len(t.Checklist)-1)
			}
			t.Checklist[i].Done = done
		}
		if p.Assignee != nil {
			a, err := s.assignee(ctx, sc, *p.Assignee, c.Org, path)
			if err != nil {
				return err
			}
			t.Assignee = a
		}
		if err := t.check(); err != nil {
			return err
		}
		switch {
		case t.Status == TaskDone && before.Status != TaskDone:
			t.DoneAt = &now
		case t.Status != TaskDone:
			t.DoneAt = nil
		}
		t.UpdatedAt = now
		if err := writeTask(ctx, tx, &t, false); err != nil {
			return err
		}
		if t.Status != before.Status {
			kind, title := "task.status", fmt.Sprintf("Task %s: %s", t.Status, t.Title)
			if t.Status == TaskDone {
				kind, title = "task.done", "Task done: "+t.Title
				s.after(tx, "task.done:"+t.ID, Event{Kind: "task.done", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now, Detail: map[string]string{"task": t.ID}})
			}
			if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: kind, title: title, ref: t.ID}); err != nil {
				return err
			}
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.task.update", ObjectType: "task", ObjectID: t.ID, Org: c.Org, Before: before, After: t}); err != nil {
			return err
		}
		out = t
		return touch(ctx, tx, c, now)
	})
	return out, err
}

// AddTaskLog appends a Markdown entry to a task's work log.
func (s *Service) AddTaskLog(ctx context.Context, sc scope.Scope, caseID, taskID, body string) (TaskLog, error) {
	if strings.TrimSpace(body) == "" {
		return TaskLog{}, fault.Invalidf("body", "is required")
	}
	if err := checkText("body", body, maxDescription); err != nil {
		return TaskLog{}, err
	}
	var out TaskLog
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		t, err := loadTask(ctx, tx, c, taskID)
		if err != nil {
			return err
		}
		now := s.now()
		l := TaskLog{ID: newID(prefixTaskLog, now), Body: body, BodyHTML: RenderMarkdown(body), By: actorName(sc), At: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_task_logs (id, task_id, case_id, body, by_id, by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.ID, t.ID, c.ID, l.Body, sc.UserID, l.By, ts(now)); err != nil {
			return fmt.Errorf("cases: task log: %w", err)
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.task.log", ObjectType: "task", ObjectID: t.ID, Org: c.Org, After: map[string]string{"log": l.ID}}); err != nil {
			return err
		}
		out = l
		return touch(ctx, tx, c, now)
	})
	return out, err
}
