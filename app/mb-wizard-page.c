/* mb-wizard-page.c - the abstract page of the setup assistant
 *
 * Holds what every page shares: the plan and client the assistant hands
 * it, its title, and the "complete" and "applying" flags the assistant's
 * buttons follow.  A page without slow work keeps the default apply,
 * which completes at once.
 */
#define G_LOG_DOMAIN "mb-wizard-page"

#include "mb-wizard-page.h"

typedef struct
{
  MbSetupPlan   *plan;   /* (unowned) (nullable) the assistant's */
  MbRelayClient *client; /* (owned) (nullable) */
  char          *title;  /* (owned) (nullable) */
  gboolean       complete;
  gboolean       applying;
} MbWizardPagePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (MbWizardPage, mb_wizard_page, GTK_TYPE_BIN)

enum
{
  PROP_0,
  PROP_PLAN,
  PROP_CLIENT,
  PROP_TITLE,
  PROP_COMPLETE,
  PROP_APPLYING,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
mb_wizard_page_real_apply_async (MbWizardPage       *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mb_wizard_page_real_apply_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
mb_wizard_page_real_apply_finish (MbWizardPage *self,
                                  GAsyncResult *result,
                                  GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
page_applied_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbWizardPage *self = g_task_get_source_object (task);
  GError       *error = NULL;
  gboolean      applied;

  applied
      = MB_WIZARD_PAGE_GET_CLASS (self)->apply_finish (self, result, &error);
  mb_wizard_page_set_applying (self, FALSE);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, applied);
}

static void
mb_wizard_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MbWizardPage        *self = MB_WIZARD_PAGE (object);
  MbWizardPagePrivate *priv = mb_wizard_page_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PLAN:
      g_value_set_pointer (value, priv->plan);
      break;
    case PROP_CLIENT:
      g_value_set_object (value, priv->client);
      break;
    case PROP_TITLE:
      g_value_set_string (value, priv->title);
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, priv->complete);
      break;
    case PROP_APPLYING:
      g_value_set_boolean (value, priv->applying);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_wizard_page_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  MbWizardPage *self = MB_WIZARD_PAGE (object);

  switch (prop_id)
    {
    case PROP_PLAN:
      mb_wizard_page_set_plan (self, g_value_get_pointer (value));
      break;
    case PROP_CLIENT:
      mb_wizard_page_set_client (self, g_value_get_object (value));
      break;
    case PROP_TITLE:
      mb_wizard_page_set_title (self, g_value_get_string (value));
      break;
    case PROP_COMPLETE:
      mb_wizard_page_set_complete (self, g_value_get_boolean (value));
      break;
    case PROP_APPLYING:
      mb_wizard_page_set_applying (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_wizard_page_dispose (GObject *object)
{
  MbWizardPagePrivate *priv
      = mb_wizard_page_get_instance_private (MB_WIZARD_PAGE (object));

  g_clear_object (&priv->client);
  priv->plan = NULL;
  G_OBJECT_CLASS (mb_wizard_page_parent_class)->dispose (object);
}

static void
mb_wizard_page_finalize (GObject *object)
{
  MbWizardPagePrivate *priv
      = mb_wizard_page_get_instance_private (MB_WIZARD_PAGE (object));

  g_free (priv->title);
  G_OBJECT_CLASS (mb_wizard_page_parent_class)->finalize (object);
}

static void
mb_wizard_page_class_init (MbWizardPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_wizard_page_get_property;
  object_class->set_property = mb_wizard_page_set_property;
  object_class->dispose = mb_wizard_page_dispose;
  object_class->finalize = mb_wizard_page_finalize;

  klass->apply_async = mb_wizard_page_real_apply_async;
  klass->apply_finish = mb_wizard_page_real_apply_finish;

  props[PROP_PLAN] = g_param_spec_pointer (
      "plan", "Plan", "The assistant's setup plan (unowned)",
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_CLIENT] = g_param_spec_object (
      "client", "Client", "The relay client", MB_TYPE_RELAY_CLIENT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_TITLE] = g_param_spec_string (
      "title", "Title", "The page's title", NULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_COMPLETE] = g_param_spec_boolean (
      "complete", "Complete", "Whether Next may be pressed", FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_APPLYING] = g_param_spec_boolean (
      "applying", "Applying", "Whether the page's apply runs", FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_wizard_page_init (MbWizardPage *self)
{
  (void)self;
}

MbSetupPlan *
mb_wizard_page_get_plan (MbWizardPage *self)
{
  MbWizardPagePrivate *priv;

  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), NULL);
  priv = mb_wizard_page_get_instance_private (self);
  return priv->plan;
}

void
mb_wizard_page_set_plan (MbWizardPage *self, MbSetupPlan *plan)
{
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  priv = mb_wizard_page_get_instance_private (self);
  if (priv->plan == plan)
    return;
  priv->plan = plan;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PLAN]);
}

MbRelayClient *
mb_wizard_page_get_client (MbWizardPage *self)
{
  MbWizardPagePrivate *priv;

  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), NULL);
  priv = mb_wizard_page_get_instance_private (self);
  return priv->client;
}

void
mb_wizard_page_set_client (MbWizardPage *self, MbRelayClient *client)
{
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  priv = mb_wizard_page_get_instance_private (self);
  if (g_set_object (&priv->client, client))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CLIENT]);
}

const char *
mb_wizard_page_get_title (MbWizardPage *self)
{
  MbWizardPagePrivate *priv;

  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), NULL);
  priv = mb_wizard_page_get_instance_private (self);
  return priv->title;
}

void
mb_wizard_page_set_title (MbWizardPage *self, const char *title)
{
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  priv = mb_wizard_page_get_instance_private (self);
  if (g_strcmp0 (priv->title, title) == 0)
    return;
  g_free (priv->title);
  priv->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TITLE]);
}

gboolean
mb_wizard_page_get_complete (MbWizardPage *self)
{
  MbWizardPagePrivate *priv;

  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), FALSE);
  priv = mb_wizard_page_get_instance_private (self);
  return priv->complete;
}

void
mb_wizard_page_set_complete (MbWizardPage *self, gboolean complete)
{
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  priv = mb_wizard_page_get_instance_private (self);
  complete = !!complete;
  if (priv->complete == complete)
    return;
  priv->complete = complete;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_COMPLETE]);
}

gboolean
mb_wizard_page_get_applying (MbWizardPage *self)
{
  MbWizardPagePrivate *priv;

  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), FALSE);
  priv = mb_wizard_page_get_instance_private (self);
  return priv->applying;
}

void
mb_wizard_page_set_applying (MbWizardPage *self, gboolean applying)
{
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  priv = mb_wizard_page_get_instance_private (self);
  applying = !!applying;
  if (priv->applying == applying)
    return;
  priv->applying = applying;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_APPLYING]);
}

void
mb_wizard_page_shown (MbWizardPage *self)
{
  MbWizardPageClass *klass;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  klass = MB_WIZARD_PAGE_GET_CLASS (self);
  if (klass->shown != NULL)
    klass->shown (self);
}

/* Copies the page's fields into the plan set with "plan" (nothing when
 * there is none yet). */
void
mb_wizard_page_save (MbWizardPage *self)
{
  MbWizardPageClass   *klass;
  MbWizardPagePrivate *priv;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));
  klass = MB_WIZARD_PAGE_GET_CLASS (self);
  priv = mb_wizard_page_get_instance_private (self);
  if (klass->save != NULL && priv->plan != NULL)
    klass->save (self, priv->plan);
}

/* Runs the page's apply with "applying" TRUE meanwhile.  Once
 * @cancellable is cancelled the result is G_IO_ERROR_CANCELLED, whatever
 * the page's apply made of it. */
void
mb_wizard_page_apply_async (MbWizardPage       *self,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_WIZARD_PAGE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_wizard_page_apply_async);
  mb_wizard_page_set_applying (self, TRUE);
  MB_WIZARD_PAGE_GET_CLASS (self)->apply_async (
      self, cancellable, page_applied_cb, g_steal_pointer (&task));
}

gboolean
mb_wizard_page_apply_finish (MbWizardPage *self,
                             GAsyncResult *result,
                             GError      **error)
{
  g_return_val_if_fail (MB_IS_WIZARD_PAGE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
