package kube

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestReader(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	r, err := OpenReader(Config{Namespace: "media", ConfigMap: "state", Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if doc, err := r.Load(ctx); err != nil || doc != nil {
		t.Fatalf("no ConfigMap: %q, %v", doc, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "state"}, Data: map[string]string{DataKey: `{"version":2}`}}
	if _, err := client.CoreV1().ConfigMaps("media").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if doc, err := r.Load(ctx); err != nil || string(doc) != `{"version":2}` {
		t.Fatalf("Load = %q, %v", doc, err)
	}
	if err := r.Save(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Save = %v", err)
	}
	got, _ := client.CoreV1().ConfigMaps("media").Get(ctx, "state", metav1.GetOptions{})
	if got.Data[DataKey] != `{"version":2}` {
		t.Fatalf("a refused save changed the ConfigMap: %v", got.Data)
	}
	if r.String() != "ConfigMap media/state (read-only)" || r.Close() != nil {
		t.Fatalf("String = %q", r.String())
	}
}
